import { createHash, timingSafeEqual } from "node:crypto"

/** Where every program listens unless told otherwise: this machine only. */
export const LOOPBACK = "127.0.0.1"

/** The host a program binds: the value of `envVar` when set (e.g. `DASHBOARD_HOST=0.0.0.0`), else 127.0.0.1. */
export const defaultHost = (envVar: string): string => {
  const value = process.env[envVar]
  return value === undefined || value.trim() === "" ? LOOPBACK : value.trim()
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "*"])

/** True for 127.0.0.0/8, ::1, localhost and their IPv4-mapped forms. */
export const isLoopback = (address: string): boolean => {
  const a = address.replace(/^::ffff:/, "").replace(/^\[|\]$/g, "")
  return a === "::1" || a === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(a)
}

/**
 * How a server bound to `host:port` is described to people: a URL to open from this machine, and where it
 * listens (`127.0.0.1:3000 (this machine only)` or `0.0.0.0:3000 (every interface)`).
 */
export const describeListen = (host: string, port: number): { readonly url: string; readonly listening: string } => {
  const wildcard = WILDCARDS.has(host)
  const urlHost = wildcard ? "localhost" : host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
  const reach = wildcard ? "every interface" : isLoopback(host) ? "this machine only" : "this address only"
  return { url: `http://${urlHost}:${port}`, listening: `${host}:${port} (${reach})` }
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest()

/**
 * Compares a presented secret with the expected one in constant time: both are hashed first so their lengths
 * match (timingSafeEqual refuses different lengths, and a length check would leak the length).
 */
export const secretEquals = (presented: string, expected: string): boolean =>
  timingSafeEqual(digest(presented), digest(expected))

/** Whether `presented` is one of `keys`, every key compared (no early exit that would tell which matched). */
export const secretIn = (presented: string, keys: ReadonlyArray<string>): boolean => {
  let found = false
  for (const key of keys) found = secretEquals(presented, key) || found
  return found
}

/** A comma-separated list from a flag or environment variable, trimmed, empties dropped. */
export const commaList = (value: string | undefined): Array<string> =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
