import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { collectLogs } from "@shop/runtime"
import { Effect } from "effect"
import { compactLake } from "../src/compaction.ts"
import { Lake, type LakeBatch, type TableSchema } from "../src/index.ts"
import { compactLockPath, swapLockPath, tryLock } from "../src/TableLock.ts"
import { col } from "../src/TableSchema.ts"
import { compactionLogPath } from "../src/tableView.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "lake-compaction-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const Orders: TableSchema = {
  name: "silver/orders_test",
  sortBy: ["paid_at", "id"],
  columns: [
    col("id", "string"),
    col("total", "money_cents"),
    col("paid_at", "timestamp_ms"),
    col("qty", "int32"),
    col("n", "int64"),
    col("note", "string", true),
    col("raw", "bytes", true),
  ],
}
const DAY = "2026-11-24"
const at = (hh: number, ms = 0) => Date.parse(`${DAY}T${String(hh).padStart(2, "0")}:00:00Z`) + ms
const rowsOf = (partition: number, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: `p${partition}-${from + i}`,
    total: (from + i) * 101 + partition, // exact cents, never a float
    paid_at: at(23 - ((from + i) % 24), (from + i) % 1000),
    qty: i % 7,
    n: 9_007_199_254_740_000 + i,
    note: i % 3 === 0 ? null : `note ${i}`,
    raw: i % 5 === 0 ? new Uint8Array([0xff, i % 256, 0]) : null,
  }))
const batch = (partition: number, from: number, count: number): LakeBatch => ({
  topic: "events.raw",
  partition,
  fromOffset: from,
  toOffset: from + count - 1,
  maxRecordTs: at(12) + from,
  tables: [{ schema: Orders, partitions: new Map([[DAY, rowsOf(partition, from, count)]]) }],
})
const run = <A, E>(dir: string, effect: Effect.Effect<A, E, Lake>) =>
  Effect.runPromise(effect.pipe(Effect.provide(Lake.layerAt(dir))) as Effect.Effect<A, E>)

/** A lake with 12 small files over two source partitions. */
const smallFiles = async () => {
  const dir = tempDir()
  await run(
    dir,
    Effect.gen(function* () {
      const lake = yield* Lake
      for (let i = 0; i < 6; i++) {
        yield* lake.commitBatch(batch(0, i * 50, 50))
        yield* lake.commitBatch(batch(1, i * 40, 40))
      }
    }),
  )
  return dir
}

const duck = async (dir: string) => {
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  const [r] = (
    await db.runAndReadAll(
      `select count(*)::INTEGER as rows, count(distinct id)::INTEGER as ids, sum(total)::VARCHAR as total,
              sum(n)::VARCHAR as n, min(paid_at)::VARCHAR as first, count(note)::INTEGER as notes,
              string_agg(hex(raw), ',' order by id) as raw, any_value(typeof(total)) as money
       from read_parquet('${dir}/silver/orders_test/*/*.parquet', hive_partitioning = true)`,
    )
  ).getRowObjectsJson()
  db.closeSync()
  return r
}
const files = (dir: string) => readdirSync(join(dir, "silver/orders_test", `event_date=${DAY}`)).sort()

describe("compaction (lake)", () => {
  test("merges a day's small files into files sorted by time, every value exact; listFiles follows", async () => {
    const dir = await smallFiles()
    const before = await duck(dir)
    expect(files(dir)).toHaveLength(12)
    const report = await Effect.runPromise(compactLake(dir, { tables: [Orders], targetRows: 200, day: DAY }))
    expect(report.days.map((d) => [d.filesBefore, d.filesAfter, d.rows])).toEqual([[12, 2, 540]])
    expect(files(dir)).toHaveLength(2)
    expect(await duck(dir)).toEqual(before)
    const listed = await run(
      dir,
      Lake.use((l) => l.listFiles(Orders.name)),
    )
    expect(listed.map((f) => [f.rows, f.sources])).toEqual([
      [270, ["events.raw-0", "events.raw-1"]],
      [270, ["events.raw-0", "events.raw-1"]],
    ])
    const db = await (await DuckDBInstance.create(":memory:")).connect()
    const [order] = (
      await db.runAndReadAll(
        `select count(*) filter (where back)::INTEGER as back from (select paid_at < lag(paid_at) over (partition by filename order by file_row_number) as back
         from read_parquet('${dir}/silver/orders_test/*/*.parquet', filename = true, file_row_number = true))`,
      )
    ).getRowObjectsJson()
    db.closeSync()
    expect(order!.back).toBe(0)
  })

  test("committed but not yet exchanged (crash after the log append): readers keep the old files; the next run finishes it", async () => {
    const dir = await smallFiles()
    const before = await duck(dir)
    const crash = await Effect.runPromise(
      Effect.result(
        compactLake(dir, {
          tables: [Orders],
          day: DAY,
          faults: (p) => {
            if (p === "logged") throw new Error("crash after the log append")
          },
        }),
      ),
    )
    expect(crash._tag).toBe("Failure")
    expect(files(dir)).toHaveLength(12)
    expect(
      (
        await run(
          dir,
          Lake.use((l) => l.listFiles(Orders.name)),
        )
      ).length,
    ).toBe(12)
    expect(await duck(dir)).toEqual(before)
    // A batch committed meanwhile must survive the finishing exchange.
    await run(
      dir,
      Lake.use((l) => l.commitBatch(batch(0, 1_000, 10))),
    )
    const report = await Effect.runPromise(compactLake(dir, { tables: [Orders], day: DAY }))
    expect(report.recovered).toBe(1)
    const listed = await run(
      dir,
      Lake.use((l) => l.listFiles(Orders.name)),
    )
    expect(listed.map((f) => f.path.split("/").at(-1)).sort()).toEqual(files(dir))
    expect(listed.reduce((s, f) => s + f.rows, 0)).toBe(550)
    expect((await duck(dir))!.rows).toBe(550)
    expect(readdirSync(join(dir, "_lake/staging/silver/orders_test"))).toEqual([])
  })

  test("a torn compaction-log line is ignored by readers and cut by the next compaction", async () => {
    const dir = await smallFiles()
    await Effect.runPromise(compactLake(dir, { tables: [Orders], day: DAY }))
    appendFileSync(compactionLogPath(dir, Orders.name), '0badc0de {"id":"x","table":"silver/orders_te')
    expect(
      (
        await run(
          dir,
          Lake.use((l) => l.listFiles(Orders.name)),
        )
      ).length,
    ).toBe(1)
    await run(
      dir,
      Lake.use((l) => l.commitBatch(batch(1, 500, 5))),
    )
    const report = await Effect.runPromise(compactLake(dir, { tables: [Orders], day: DAY }))
    expect(report.days.map((d) => d.filesBefore)).toEqual([2])
    expect(
      (
        await run(
          dir,
          Lake.use((l) => l.listFiles(Orders.name)),
        )
      ).map((f) => f.rows),
    ).toEqual([545])
  })

  test("a writer waits while a compaction holds the table's swap lock; a second compaction skips a busy table", async () => {
    const dir = await smallFiles()
    const holder = Bun.spawn(
      ["bun", join(import.meta.dir, "fixtures", "holdLock.ts"), swapLockPath(dir, Orders.name), "600"],
      { stdout: "pipe" },
    )
    const reader = holder.stdout.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("held\n")
    const started = performance.now()
    await run(
      dir,
      Lake.use((l) => l.commitBatch(batch(0, 2_000, 5))),
    )
    expect(performance.now() - started).toBeGreaterThan(300)
    await holder.exited

    const busy = tryLock(compactLockPath(dir, Orders.name), "exclusive")!
    const lines: Array<string> = []
    const report = await Effect.runPromise(
      compactLake(dir, { tables: [Orders], day: DAY }).pipe(Effect.provide(collectLogs(lines))),
    )
    busy.release()
    expect(report.days).toEqual([])
    // Effect.log with the component annotation: "[compact] ..." in the programs' plain log.
    expect(lines).toEqual([`[compact] ${Orders.name}: another compaction is running, skipped`])
  })
})
