import { Schema } from "effect"

// RFC 3339 date-time: a "T" (or "t"), seconds required, any fractional digits, and an offset or "Z".
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** Epoch milliseconds of an RFC 3339 timestamp, or `undefined` when it is not one (or names no real instant). */
export const parseRfc3339 = (s: string): number | undefined => {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, sec, frac, z, sign, oh, om] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(sec)
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"))
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const at = new Date(0)
  at.setUTCFullYear(year, month - 1, day)
  at.setUTCHours(hour, minute, second, ms)
  const local = at.getTime()
  // Date.UTC rolls 2026-02-30 over into March: reject days that do not exist (only days > 28 can).
  if (day > 28 && new Date(local).getUTCDate() !== day) return undefined
  if (z !== undefined) return local
  const offsetHours = Number(oh)
  const offsetMinutes = Number(om)
  if (offsetHours > 23 || offsetMinutes > 59) return undefined
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000
  return sign === "+" ? local - offset : local + offset
}

const DAY_MS = 86_400_000
let cachedDay = Number.NaN
let cachedDate = ""

/** "YYYY-MM-DD", the UTC date of an instant: the contract's `event_date`. (Consecutive calls mostly share a day.) */
export const utcDate = (epochMs: number): string => {
  const day = Math.floor(epochMs / DAY_MS)
  if (day !== cachedDay) {
    cachedDay = day
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 10)
  }
  return cachedDate
}

const LEAP_SECOND = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:60/

export const Rfc3339String = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter(
      (s: string) =>
        parseRfc3339(s) !== undefined ||
        (LEAP_SECOND.test(s)
          ? "a leap second (:60) names no instant this pipeline can store; send the next second (:00 of the next minute)"
          : false),
      {
        expected: "an RFC 3339 timestamp with an offset or Z, e.g. 2026-11-24T17:03:12.345Z",
      },
    ),
  ),
)
