import { expect, setDefaultTimeout, test } from "bun:test"
import { existsSync } from "node:fs"
import { testEffect } from "@shop/runtime/testing"
import { Effect } from "effect"
import { Lake, type LakeBatch, type TableSchema } from "../src/index.ts"
import { col } from "../src/TableSchema.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const run = testEffect(Lake.layerTest)

const Orders: TableSchema = { name: "silver/orders_test", columns: [col("id", "string"), col("qty", "int32")] }
const Raw: TableSchema = { name: "bronze/raw_test", columns: [col("id", "string")] }
const batch = (partition: number, from: number, to: number, days: ReadonlyArray<string>): LakeBatch => ({
  topic: "events.raw",
  partition,
  fromOffset: from,
  toOffset: to,
  maxRecordTs: Date.parse("2026-11-24T12:00:00Z"),
  tables: [
    { schema: Orders, partitions: new Map(days.map((d) => [d, [{ id: `${d}-${from}`, qty: 1 }]])) },
    // Bronze is not Silver: its days never count as changed.
    { schema: Raw, partitions: new Map([["2026-01-01", [{ id: `r${from}` }]]]) },
  ],
})

test("Lake.layerTest: a real lake in a temp directory of its own, gone when its scope closes", async () => {
  const seen = await run(
    Effect.gen(function* () {
      const lake = yield* Lake
      const other = yield* Lake.use(Effect.succeed).pipe(Effect.provide(Lake.layerTest))
      return {
        root: lake.root,
        other: other.root,
        existed: existsSync(lake.root),
        files: yield* lake.listFiles("silver/page_view"),
      }
    }),
  )
  expect(seen.existed).toBe(true)
  expect(seen.other).not.toBe(seen.root)
  expect(seen.files).toEqual([])
  expect(existsSync(seen.root)).toBe(false)
  expect(existsSync(seen.other)).toBe(false)
})

test("Lake.tail follows every commit log: each poll gives the batches committed since the last one", async () => {
  const polls = await run(
    Effect.gen(function* () {
      const lake = yield* Lake
      const tail = yield* lake.tail
      const empty = tail.poll()
      yield* lake.commitBatch(batch(0, 0, 4, ["2026-11-24"]))
      yield* lake.commitBatch(batch(1, 0, 2, ["2026-11-24"]))
      const first = tail.poll()
      yield* lake.commitBatch(batch(0, 5, 9, ["2026-11-23"]))
      const second = tail.poll()
      const fresh = (yield* lake.tail).poll()
      return {
        empty,
        first: first.map((e) => `${e.topic}/${e.partition}:${e.from}-${e.to}`).sort(),
        second: second.map((e) => `${e.topic}/${e.partition}:${e.from}-${e.to}`),
        committed: Object.fromEntries(tail.committed),
        fresh: fresh.length,
      }
    }),
  )
  expect(polls).toEqual({
    empty: [],
    first: ["events.raw/0:0-4", "events.raw/1:0-2"],
    second: ["events.raw/0:5-9"],
    committed: { "events.raw/0": 10, "events.raw/1": 3 },
    fresh: 3,
  })
})

test("Lake.changedDays: the Silver days of batches committed since the progress given, a late day included", async () => {
  const seen = await run(
    Effect.gen(function* () {
      const lake = yield* Lake
      const none = yield* lake.changedDays({})
      yield* lake.commitBatch(batch(0, 0, 4, ["2026-11-24", "2026-11-25"]))
      const first = yield* lake.changedDays({})
      const again = yield* lake.changedDays(first.next)
      // A late event: a new batch of another partition names an older day.
      yield* lake.commitBatch(batch(3, 0, 0, ["2026-11-20"]))
      const late = yield* lake.changedDays(first.next)
      return { none, first, again: again.days, late }
    }),
  )
  expect(seen.none).toEqual({ days: [], next: {} })
  expect(seen.first).toEqual({ days: ["2026-11-24", "2026-11-25"], next: { "events.raw/0": 1 } })
  expect(seen.again).toEqual([])
  expect(seen.late).toEqual({ days: ["2026-11-20"], next: { "events.raw/0": 1, "events.raw/3": 1 } })
})
