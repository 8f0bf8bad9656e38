import { createRequire } from "node:module"

/** `context.country` when neither the event, the proxy header nor the database knows it (ISO 3166 "unknown"). */
export const UNKNOWN_COUNTRY = "ZZ"

export interface CountryOptions {
  /** A header the proxy in front sets to the client's country, e.g. `CF-IPCountry` (env COLLECTOR_COUNTRY_HEADER). */
  readonly header?: string | undefined
  /** Look the client IP up in the offline database (default true); the IP itself is never kept. */
  readonly database?: boolean
}

interface GeoipCountry {
  lookup(ip: string): { readonly country?: string } | null
}

let database: GeoipCountry | undefined
/** geoip-country (GeoLite2 country data in the npm package, offline): loaded at first use, ~40 ms and 26 MB. */
const geoip = (): GeoipCountry => {
  database ??= createRequire(import.meta.url)("geoip-country") as GeoipCountry
  return database
}

const TWO_LETTERS = /^[A-Za-z]{2}$/
// Cloudflare's XX (no data) and T1 (Tor), and the like: not a country.
const NOT_A_COUNTRY = new Set(["XX", "T1", "A1", "A2", "O1", "EU", "AP"])

const asCountry = (value: string | null | undefined): string | undefined => {
  if (value === null || value === undefined) return undefined
  const code = value.trim().toUpperCase()
  return TWO_LETTERS.test(code) && !NOT_A_COUNTRY.has(code) ? code : undefined
}

/**
 * The rule for `context.country` of events that come without one (a browser cannot know it): the proxy's
 * country header when configured and valid, else the offline IP database, else ZZ.
 */
export const countryResolver =
  (options: CountryOptions) =>
  (headers: Headers, clientIp: string | undefined): string => {
    if (options.header !== undefined && options.header !== "") {
      const fromHeader = asCountry(headers.get(options.header))
      if (fromHeader !== undefined) return fromHeader
    }
    if (options.database !== false && clientIp !== undefined && clientIp !== "") {
      // Bun reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
      const ip = clientIp.startsWith("::ffff:") && clientIp.includes(".") ? clientIp.slice(7) : clientIp
      const found = asCountry(geoip().lookup(ip)?.country)
      if (found !== undefined) return found
    }
    return UNKNOWN_COUNTRY
  }
