import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Broker, ensureDefaultTopics, layerEmbeddedAt } from "@shop/broker"
import { TOPIC_RAW } from "@shop/contract"
import { emptyStats, type GeneratedRecord, makeEventStream, sumValid } from "@shop/generator"
import { ALL_TABLES, Lake } from "@shop/lake"
import { runStreamProcessor } from "@shop/stream"
import { Effect, Layer } from "effect"
import { fileCounts, globOf, goldFingerprint, lakeFingerprint } from "../../lake/test/lakeSnapshot.ts"
import { refreshDailyFacts, Warehouse } from "../src/index.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), "compaction-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const pipeline = () => Layer.mergeAll(layerEmbeddedAt(join(dir, "broker")), Lake.layerAt(dir))

const produceAndProcess = (records: ReadonlyArray<Pick<GeneratedRecord, "key" | "value" | "timestamp">>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* ensureDefaultTopics
      const broker = yield* Broker
      for (let i = 0; i < records.length; i += 5_000) yield* broker.produce(TOPIC_RAW, records.slice(i, i + 5_000))
      // Small micro-batches: many small files, as a live stream makes them.
      return yield* runStreamProcessor({ availableNow: true, maxBatchRecords: 400 })
    }).pipe(Effect.provide(pipeline())),
  )
const refresh = (all = false) =>
  Effect.runPromise(
    refreshDailyFacts({ all }).pipe(Effect.provide(Layer.merge(Warehouse.layer, Lake.layerAt(dir))), Effect.scoped),
  )
const lake = <A, E>(f: (l: Lake["Service"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(Lake.use(f).pipe(Effect.provide(Lake.layerAt(dir))) as Effect.Effect<A, E>)

describe("compaction", () => {
  const stats = emptyStats()
  const records: Array<GeneratedRecord> = []

  test("changes no number: every Bronze/Silver table (rows, keys, content, money to the cent) and every gold fact", async () => {
    const stream = makeEventStream(
      {
        seed: 33,
        start: Date.parse("2026-11-01T00:00:00Z"),
        end: Date.parse("2026-11-03T06:00:00Z"),
        eps: 0.2,
        badRate: 0.02,
        dupRate: 0.03,
        lateRate: 0.03,
        seasonality: true,
      },
      stats,
    )
    records.push(...stream)
    await produceAndProcess(records)
    await refresh()
    const lakeBefore = await lakeFingerprint(dir)
    const goldBefore = await goldFingerprint(dir)
    const filesBefore = fileCounts(dir)
    expect(lakeBefore["silver/page_view"]!.rows).toBeGreaterThan(8_000)

    // Small targets so days split into several outputs; the open day too (threshold of 2 files).
    const report = await lake((l) => l.compact({ tables: ALL_TABLES, targetRows: 8_000, openDayMinFiles: 2 }))
    expect(report.days.length).toBeGreaterThan(15)
    expect(report.days.every((d) => d.skipped === undefined)).toBe(true)
    expect(report.days.some((d) => !d.closed)).toBe(true)
    const filesAfter = fileCounts(dir)
    for (const [table, n] of Object.entries(filesBefore)) {
      expect(filesAfter[table]!).toBeLessThan(n)
      // Outputs hold >= 8k rows, except one remainder per day at most.
      const days = (lakeBefore[table]!.per_day as string).split(",").length
      expect(filesAfter[table]!).toBeLessThanOrEqual(
        Math.max(days, Math.ceil((lakeBefore[table]!.rows as number) / 8_000) + days),
      )
    }
    expect(await lakeFingerprint(dir)).toEqual(lakeBefore)

    // listFiles (what exact readers use) agrees with the glob: same files, same rows.
    for (const t of ALL_TABLES) {
      const files = await lake((l) => l.listFiles(t.name))
      expect(files.reduce((s, f) => s + f.rows, 0)).toBe((lakeBefore[t.name]?.rows as number | undefined) ?? 0)
      const onDisk = (
        existsSync(join(dir, t.name)) ? (readdirSync(join(dir, t.name), { recursive: true }) as Array<string>) : []
      )
        .filter((f) => f.endsWith(".parquet"))
        .map((f) => join(t.name, f))
        .sort()
      expect(files.map((f) => f.path).sort()).toEqual(onDisk)
    }
    expect(
      readdirSync(join(dir, "_lake", "staging"), { recursive: true }).filter((f) => String(f).endsWith(".parquet")),
    ).toEqual([])

    // Gold: compaction is not a change (no day recomputed), and recomputing everything gives the same facts.
    expect(await refresh()).toEqual({ changedDays: [], written: {} })
    await refresh(true)
    expect(await goldFingerprint(dir)).toEqual(goldBefore)

    // A second run finds nothing left to do on closed days.
    const again = await lake((l) => l.compact({ tables: ALL_TABLES, targetRows: 8_000 }))
    expect(again.days.filter((d) => d.closed)).toEqual([])
  }, 180_000)

  test("compacted files: sorted by time, with statistics, DECIMAL(18,2) money and ms UTC timestamps (DuckDB, pyarrow)", async () => {
    const db = await (await DuckDBInstance.create(":memory:")).connect()
    try {
      const files = (await lake((l) => l.listFiles("silver/order_placed"))).filter((f) => f.path.includes("compacted-"))
      expect(files.length).toBeGreaterThan(0)
      for (const f of files) {
        const path = join(dir, f.path)
        const [meta] = (
          await db.runAndReadAll(
            `select count(*) filter (where stats_min_value is null or stats_max_value is null)::INTEGER as missing, count(*)::INTEGER as n
             from parquet_metadata('${path}') where path_in_schema in ('event_ts', 'total', 'event_id')`,
          )
        ).getRowObjectsJson()
        expect(meta).toEqual({ missing: 0, n: expect.any(Number) })
        const [unsorted] = (
          await db.runAndReadAll(
            `select count(*)::INTEGER as n from (select event_ts < lag(event_ts) over (order by file_row_number) as back
             from read_parquet('${path}', file_row_number = true)) where back`,
          )
        ).getRowObjectsJson()
        expect(unsorted!.n).toBe(0)
        const [types] = (
          await db.runAndReadAll(
            `select any_value(typeof(total)) as money, any_value(typeof(event_ts)) as ts from read_parquet('${path}')`,
          )
        ).getRowObjectsJson()
        expect(types).toEqual({ money: "DECIMAL(18,2)", ts: "TIMESTAMP" })
      }
    } finally {
      db.closeSync()
    }
    const py = Bun.spawnSync([
      process.env.PYTHON!,
      "-c",
      "import sys, pyarrow.dataset as ds; t = ds.dataset(sys.argv[1], partitioning='hive').to_table(); " +
        "print(t.schema.field('total').type, t.schema.field('event_ts').type, t.num_rows, sum(t.column('total').to_pylist()), sep='|')",
      join(dir, "silver/order_placed"),
    ])
    expect(py.stderr.toString()).toBe("")
    const [money, ts, rows, total] = py.stdout.toString().trim().split("|")
    expect([money, ts, Number(rows)]).toEqual(["decimal128(18, 2)", "timestamp[ms, tz=UTC]", stats.valid.order_placed])
    expect(Math.round(Number(total) * 100)).toBe(stats.orderTotalCents)
  }, 60_000)

  test("after compaction a restarted processor still drops copies of events it holds (dedup seeded from compacted files)", async () => {
    const before = await lakeFingerprint(dir)
    const silverBefore = Object.fromEntries(Object.entries(before).filter(([t]) => t.startsWith("silver/")))
    const metrics = await produceAndProcess(records.slice(0, 3_000))
    expect(metrics.duplicates).toBeGreaterThan(2_000)
    const after = await lakeFingerprint(dir)
    expect(Object.fromEntries(Object.entries(after).filter(([t]) => t.startsWith("silver/")))).toEqual(silverBefore)
    const union = Object.keys(stats.valid).map((t) => `select event_id from ${globOf(dir, `silver/${t}`)}`)
    const db = await (await DuckDBInstance.create(":memory:")).connect()
    const [ids] = (
      await db.runAndReadAll(`select count(distinct event_id)::INTEGER as d from (${union.join(" union all ")})`)
    ).getRowObjectsJson()
    db.closeSync()
    expect(ids!.d).toBe(sumValid(stats))
  }, 60_000)
})
