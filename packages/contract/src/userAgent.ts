/**
 * What a user agent string says: browser, operating system and device class (ua-parser-js, MIT, the 1.x line:
 * 2.x is AGPL), and whether it is a known crawler (isbot's maintained pattern list). Parsing costs tens of
 * microseconds; a session repeats its user agent on every event and a shop sees a few thousand distinct ones,
 * so each distinct string is parsed once and kept (the cache is emptied when it reaches its bound).
 */
import { isbotMatch } from "isbot"
import { UAParser } from "ua-parser-js"

export interface UserAgentInfo {
  /** e.g. `Chrome`, `Mobile Safari`; null when the parser does not know it. */
  readonly browser: string | null
  /** e.g. `Windows`, `iOS`, `Android`. */
  readonly os: string | null
  /** `mobile`, `tablet`, `console`, `smarttv`, `wearable`, `embedded`; `desktop` for a known browser with no device. */
  readonly device: string | null
  /** The isbot pattern the string matched (a crawler, a headless browser, an HTTP library), else null. */
  readonly botMatch: string | null
}

const NONE: UserAgentInfo = { browser: null, os: null, device: null, botMatch: null }
const CACHE_LIMIT = 50_000
const cache = new Map<string, UserAgentInfo>()
const parser = new UAParser()

const parse = (ua: string): UserAgentInfo => {
  const r = parser.setUA(ua).getResult()
  const browser = r.browser.name ?? null
  return Object.freeze({
    browser,
    os: r.os.name ?? null,
    device: r.device.type ?? (browser === null ? null : "desktop"),
    botMatch: isbotMatch(ua),
  })
}

/** The parse of `ua` (null or empty: nothing known, and no bot). */
export const userAgentInfo = (ua: string | null): UserAgentInfo => {
  if (ua === null || ua === "") return NONE
  let info = cache.get(ua)
  if (info === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear()
    info = parse(ua)
    cache.set(ua, info)
  }
  return info
}
