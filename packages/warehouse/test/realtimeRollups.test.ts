import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { type GeneratedRecord, makeEventStream } from "@shop/generator"
import { ALL_TABLES, type CompactOptions, Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer } from "effect"
import { DEFAULT_CATALOG, makeRealtimeRollups, refreshRealtime, sqlString, Warehouse } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

/** Compaction as the gold loop runs it: through the Lake service. */
const compactAt = (dir: string, options: CompactOptions) =>
  Lake.use((lake) => lake.compact(options)).pipe(Effect.provide(Lake.layerAt(dir)))

const dir = mkdtempSync(join(tmpdir(), "realtime-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const END = Date.parse("2026-11-03T12:00:00Z")
const pipeline = Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))
const processRecords = (records: ReadonlyArray<GeneratedRecord>) =>
  Effect.gen(function* () {
    yield* ensureDefaultTopics
    const broker = yield* Broker
    for (let i = 0; i < records.length; i += 2_000) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 2_000))
    // Small batches: many files, as a live stream makes them.
    yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 300 })
  }).pipe(Effect.provide(pipeline))

/** Both rollup files as sorted text rows, as the next reader would see them. */
const readRollups = Effect.gen(function* () {
  const wh = yield* Warehouse
  const read = (file: string) =>
    wh.query(`select * from read_parquet(${sqlString(join(dir, "gold", "realtime", file))}) order by all`)
  return { minutes: yield* read("minute_rollup.parquet"), top: yield* read("top_products.parquet") }
})

describe("right-now rollups kept incrementally", () => {
  test("equal the full recompute over Silver, across start-up, new batches, late and duplicate events and compaction", async () => {
    const events = [
      ...makeEventStream({
        seed: 5,
        start: END - 3 * 3_600_000,
        end: END,
        eps: 3,
        badRate: 0.02,
        dupRate: 0.03,
        lateRate: 0.05,
        seasonality: false,
      }),
    ]
    const half = Math.floor(events.length / 2)
    const program = Effect.gen(function* () {
      // Start-up: what is committed now is read from Silver.
      yield* processRecords(events.slice(0, half))
      const rollups = yield* makeRealtimeRollups(DEFAULT_CATALOG)
      const firstNow = events[half - 1]!.timestamp + 1_000
      yield* rollups.refresh(firstNow)
      const incrementalFirst = yield* readRollups
      yield* refreshRealtime(dir, firstNow)
      expect(yield* readRollups).toEqual(incrementalFirst)

      // New batches from the commit logs; some of their files merged away by compaction before being read.
      yield* processRecords(events.slice(half, half + Math.floor(half / 2)))
      yield* compactAt(dir, { tables: ALL_TABLES, openDayMinFiles: 2, targetRows: 1_000 })
      yield* processRecords(events.slice(half + Math.floor(half / 2)))
      const now = END + 30_000
      yield* rollups.refresh(now)
      const incremental = yield* readRollups
      yield* refreshRealtime(dir, now)
      const full = yield* readRollups
      expect(incremental).toEqual(full)
      return full
    }).pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layerAt(dir))), Effect.scoped)
    const full = await Effect.runPromise(program)
    const totals = { events: 0, orders: 0 }
    for (const m of full.minutes) {
      totals.events += Number(m.events)
      totals.orders += Number(m.orders)
    }
    expect(totals.events).toBeGreaterThan(10_000)
    expect(totals.orders).toBeGreaterThan(10)
    expect(full.top.length).toBeGreaterThan(0)
  }, 120_000)
})
