/** The bot rules' verdicts are a function of the records alone: the same after a restart and in any batch size. */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { Lake } from "@shop/lake"
import { Effect, Layer } from "effect"
import { runStreamProcessor } from "../src/index.ts"
import { duckdb } from "./lakeQueries.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
const at = Date.parse("2026-11-20T10:00:00Z")
const view = (i: number, session: string, ts: number, ua: string) => ({
  key: session,
  timestamp: at + 120_000,
  value: JSON.stringify({
    schema_version: 1,
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    event_type: "page_view",
    event_ts: new Date(ts).toISOString(),
    anonymous_id: `a-${session}`,
    user_id: null,
    session_id: session,
    context: { device: "desktop", country: "US", user_agent: ua },
    page_type: "home",
    page_url: "/",
    category: null,
  }),
})

// A script: 90 events in one minute, plus 10 in the next (a new minute starts a new count); a person; a crawler.
const records = [
  ...Array.from({ length: 90 }, (_, i) => view(i, "script", at + i * 600, CHROME)),
  ...Array.from({ length: 10 }, (_, i) => view(100 + i, "script", at + 60_000 + i * 1000, CHROME)),
  ...Array.from({ length: 5 }, (_, i) => view(200 + i, "person", at + i * 10_000, CHROME)),
  view(300, "crawler", at, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
]

/** Produces `records` in `parts` and runs the processor to the end of each part (a new processor each time). */
const run = async (parts: ReadonlyArray<ReadonlyArray<(typeof records)[number]>>, maxBatchRecords: number) => {
  const dir = mkdtempSync(join(tmpdir(), "stream-bots-"))
  dirs.push(dir)
  const layers = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))
  for (const part of parts) {
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* ensureDefaultTopics
        yield* (yield* Broker).produce(TOPIC_RAW, part)
        yield* runStreamProcessor({ availableNow: true, maxBatchRecords })
      }).pipe(Effect.provide(layers)),
    )
  }
  const db = await duckdb(dir)
  const rows = await db.rows(`
    select session_id, bot_reason, count(*)::INTEGER as n, min(event_id) as first
    from ${db.glob("silver/page_view")} group by all order by all`)
  db.close()
  return rows
}

describe("bot rules", () => {
  test("the rate rule flags from the 61st event of a session-minute on; the same across restarts and batch sizes", async () => {
    const once = await run([records], 10_000)
    expect(once.map(({ first: _, ...r }) => r)).toEqual([
      { session_id: "crawler", bot_reason: "user_agent", n: 1 },
      { session_id: "person", bot_reason: null, n: 5 },
      { session_id: "script", bot_reason: "rate", n: 30 },
      { session_id: "script", bot_reason: null, n: 70 },
    ])
    // The 61st event of the first minute is the first flagged one.
    expect(once.find((r) => r.bot_reason === "rate")!.first).toBe("00000000-0000-4000-8000-000000000060")
    // Stopped and started between records 45 and 46 (the state comes back from Silver), in batches of 4.
    expect(await run([records.slice(0, 45), records.slice(45)], 4)).toEqual(once)
  })
})
