import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Lake } from "@shop/lake"
import { Warehouse } from "@shop/warehouse"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { LiveData } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Lets the forked poll loop run up to its next sleep (all its IO here is synchronous). */
const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 50 }))

/** Moves the TestClock on by `ms` and lets the loop catch up. */
const after = (ms: number) => TestClock.adjust(ms).pipe(Effect.andThen(settle))

test("live poll on the TestClock: a commit reaches the page within one 100 ms poll; without commits, a beat a second; gold read once a second", () => {
  const dir = mkdtempSync(join(tmpdir(), "live-poll-"))
  dirs.push(dir)
  const goldReads: Array<string> = []
  // A gold file whose modification time moves on whenever the spec says: each refresh that looks reads it.
  const rollup = join(dir, "gold", "realtime", "minute_rollup.parquet")
  mkdirSync(join(dir, "gold", "realtime"), { recursive: true })
  writeFileSync(rollup, "not read: the warehouse is a stub")
  let mtime = 1_000_000
  const touchGold = () => utimesSync(rollup, ++mtime, mtime)
  // No DuckDB: gold's queries answer at once (nothing in gold), so the loop only waits on the clock.
  const warehouse = Layer.mock(Warehouse, {
    query: (sql: string) =>
      Effect.sync(() => {
        goldReads.push(sql)
        return []
      }),
  })
  return Effect.gen(function* () {
    const live = yield* LiveData
    const lake = yield* Lake
    let heard = 0
    live.subscribe(() => heard++)
    yield* settle
    // The first poll, at 0, tells the listeners whatever there is.
    expect(heard).toBe(1)
    const goldAtStart = goldReads.length
    expect(goldAtStart).toBeGreaterThan(0)
    touchGold()
    yield* after(999)
    expect(heard).toBe(1)
    // No gold refresh between two seconds, however many polls ran (every 100 ms).
    expect(goldReads.length).toBe(goldAtStart)
    yield* after(1)
    // The once-a-second beat (ages on the page change) and gold's refresh, both at 1,000.
    expect(heard).toBe(2)
    expect(goldReads.length).toBe(goldAtStart + 1)
    yield* after(20)
    // A batch commits at 1,020 (every record rejected: a commit with no files).
    yield* lake.commitBatch({
      topic: "events.raw",
      partition: 0,
      fromOffset: 0,
      toOffset: 9,
      maxRecordTs: 1_000,
      tables: [],
    })
    expect(live.snapshot(1_020).health.ingest.commits).toBe(0)
    yield* after(79)
    expect(heard).toBe(2)
    // The poll at 1,100 folds it in and tells the listeners at once, not at the next beat.
    yield* after(1)
    expect(heard).toBe(3)
    expect(live.snapshot(1_100).health.ingest.commits).toBe(1)
    // The beat counts from the last word to the listeners: 2,100, not 2,000.
    yield* after(999)
    expect(heard).toBe(3)
    yield* after(1)
    expect(heard).toBe(4)
  }).pipe(
    Effect.provide(
      LiveData.layer({ root: dir, pollMs: 100, log: () => {} }).pipe(
        Layer.provide(warehouse),
        Layer.provideMerge(Lake.layerAt(dir)),
      ),
    ),
    Effect.provide(TestClock.layer()),
    Effect.scoped,
    Effect.runPromise,
  )
})
