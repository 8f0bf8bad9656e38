import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { Effect } from "effect"
import { type GeneratedRecord, runGenerator, type Sink } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const memorySink = () => {
  const records: Array<GeneratedRecord> = []
  const sink: Sink = { write: (batch) => Effect.sync(() => void records.push(...batch)) }
  return { records, sink }
}
const base = { seed: 1, badRate: 0, dupRate: 0, lateRate: 0 }

describe("runGenerator", () => {
  test("paces a live run within 5% of --eps, stamped with the wall clock", async () => {
    const { records, sink } = memorySink()
    const before = Date.now()
    const stats = await Effect.runPromise(runGenerator({ ...base, eps: 400, durationMs: 2_500 }, sink))
    const after = Date.now()
    expect(stats.records).toBe(records.length)
    expect(Math.abs(records.length - 1_000) / 1_000).toBeLessThan(0.05)
    for (const r of records) {
      expect(r.timestamp).toBeGreaterThanOrEqual(before)
      expect(r.timestamp).toBeLessThanOrEqual(after)
    }
    // A shop already in full swing: not only landing pages.
    expect(records.some((r) => JSON.parse(r.value).event_type !== "page_view")).toBe(true)
  })

  test("a backfill covers the window with record time = event time and is reproducible", async () => {
    const end = Date.parse("2026-11-24T00:00:00Z")
    const run = async () => {
      const { records, sink } = memorySink()
      await Effect.runPromise(runGenerator({ ...base, eps: 0.5, backfillDays: 2, end }, sink))
      return records
    }
    const a = await run()
    const b = await run()
    expect(a.map((r) => r.value)).toEqual(b.map((r) => r.value))
    expect(a.length).toBeGreaterThan(60_000)
    expect(a.at(-1)!.timestamp).toBeLessThanOrEqual(end)
    expect(a[0]!.timestamp).toBeGreaterThanOrEqual(end - 2 * 86_400_000)
    for (const r of a.slice(0, 1000)) {
      const lag = r.timestamp - Date.parse(JSON.parse(r.value).event_ts)
      expect(lag).toBeGreaterThanOrEqual(0)
      expect(lag).toBeLessThanOrEqual(2_000)
    }
  })

  test("--max-events stops at exactly that many records", async () => {
    const { records, sink } = memorySink()
    const stats = await Effect.runPromise(
      runGenerator({ ...base, eps: 10, backfillDays: 5, maxEvents: 12_345, badRate: 0.1 }, sink),
    )
    expect(records.length).toBe(12_345)
    expect(stats.records).toBe(12_345)
  })
})
