import { Option } from "effect"
import { Flag } from "effect/cli"

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * "90s", "10m", "1.5h", "2d", "500ms" in ms; `undefined` for anything else, a bare number included: "5" could be
 * seconds or minutes, so a duration always carries its unit.
 */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim())
  if (m === null) return undefined
  return Number(m[1]) * UNITS[m[2] as keyof typeof UNITS]
}

/** A number above 0, decimals allowed (a rate such as 0.05 events per second). */
export const positiveNumberFlag = (name: string, description: string, fallback: number) =>
  Flag.Finite(name).pipe(
    Flag.withDescription(description),
    Flag.withDefault(fallback),
    Flag.filter(
      (n) => n > 0,
      () => `must be a number above 0`,
    ),
  )

/** A TCP port: 1-65535, or 0 for a free one the system picks. */
export const portFlag = (name: string, description: string, fallback: number) =>
  Flag.Int(name).pipe(
    Flag.withDescription(description),
    Flag.withDefault(fallback),
    Flag.filter(
      (n) => n >= 0 && n <= 65_535,
      () => `a port is 1-65535 (0 picks a free one)`,
    ),
  )

/** A duration with its unit (90s, 5m, 2h), in ms; with `off`, the word "off" gives 0. */
export const durationFlag = (name: string, description: string, fallback: string, options: { off?: boolean } = {}) =>
  Flag.String(name).pipe(
    Flag.withDescription(description),
    Flag.withDefault(fallback),
    Flag.filterMap(
      (text): Option.Option<number> => {
        if (options.off === true && text.trim() === "off") return Option.some(0)
        const ms = parseDuration(text)
        return ms === undefined || ms <= 0 ? Option.none() : Option.some(ms)
      },
      (text) =>
        /^\d+(\.\d+)?$/.test(text.trim())
          ? `a duration needs its unit: ${text}s, ${text}m or ${text}h${options.off === true ? " (or off)" : ""}`
          : `expected a duration such as 90s, 5m or 2h${options.off === true ? ", or off" : ""}`,
    ),
  )
