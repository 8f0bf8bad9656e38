import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { BOT_RATE_LIMIT, rateKey, validate } from "@shop/contract"
import { type GeneratedRecord, makeEventStream } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const START = Date.parse("2026-11-20T00:00:00Z")
const take = (n: number, botRate?: number, seed = 7) => {
  const out: Array<GeneratedRecord> = []
  const opts = { seed, start: START, eps: 50, seasonality: false, ...(botRate === undefined ? {} : { botRate }) }
  for (const r of makeEventStream(opts)) {
    out.push(r)
    if (out.length >= n) break
  }
  return out
}

describe("--bot-rate", () => {
  test("0 (the default) gives exactly the events of a run without the flag", () => {
    expect(take(3_000, 0).map((r) => r.value)).toEqual(take(3_000).map((r) => r.value))
  })

  test("a share of sessions are bots: crawlers by user agent and a fast script; the same under a seed", () => {
    const records = take(30_000, 0.1)
    expect(take(30_000, 0.1).map((r) => r.value)).toEqual(records.map((r) => r.value))
    const sessions = new Map<string, { ua: boolean; perMinute: Map<string, number> }>()
    for (const r of records) {
      const v = validate({ value: String(r.value), timestamp: r.timestamp })
      if (!v.ok) continue
      const s = sessions.get(v.event.session_id) ?? { ua: false, perMinute: new Map() }
      s.ua ||= v.event.ua_bot !== null
      const k = rateKey(v.event.session_id, v.event.event_ts_ms)
      s.perMinute.set(k, (s.perMinute.get(k) ?? 0) + 1)
      sessions.set(v.event.session_id, s)
    }
    const all = [...sessions.values()]
    const crawlers = all.filter((s) => s.ua).length
    const fast = all.filter((s) => !s.ua && [...s.perMinute.values()].some((n) => n > BOT_RATE_LIMIT)).length
    // 10% of sessions are bots, two thirds of them crawlers (sessions still open at the cut are counted too).
    const share = (crawlers + fast) / all.length
    expect(share).toBeGreaterThan(0.06)
    expect(share).toBeLessThan(0.14)
    expect(crawlers).toBeGreaterThan(fast)
    expect(fast).toBeGreaterThan(0)
    // No person in the simulated shop trips either rule.
    expect(
      take(30_000, 0).some((r) => {
        const v = validate({ value: String(r.value), timestamp: r.timestamp })
        return v.ok && v.event.ua_bot !== null
      }),
    ).toBe(false)
  })
})
