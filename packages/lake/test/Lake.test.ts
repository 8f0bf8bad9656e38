import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect } from "effect"
import { batchFileName, Lake, type LakeBatch, type TableSchema } from "../src/index.ts"
import { col } from "../src/TableSchema.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "lake-test-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const Orders: TableSchema = {
  name: "silver/orders_test",
  columns: [
    col("id", "string"),
    col("total", "money_cents"),
    col("paid_at", "timestamp_ms"),
    col("qty", "int32"),
    col("note", "string", true),
    col("raw", "bytes", true),
  ],
}
const batch = (partition: number, from: number, to: number, rows: Array<Record<string, unknown>>): LakeBatch => ({
  topic: "events.raw",
  partition,
  fromOffset: from,
  toOffset: to,
  maxRecordTs: Date.parse("2026-11-24T12:00:00Z"),
  tables: [{ schema: Orders, partitions: new Map([["2026-11-24", rows]]) }],
})
const run = <A, E>(dir: string, effect: Effect.Effect<A, E, Lake>) =>
  Effect.runPromise(effect.pipe(Effect.provide(Lake.layerAt(dir))) as Effect.Effect<A, E>)

const rows = [
  { id: "a", total: 1999, paid_at: Date.parse("2026-11-24T10:00:00.123Z"), qty: 1, note: null, raw: null },
  { id: "b", total: 1, paid_at: Date.parse("2026-11-24T11:00:00Z"), qty: 2, note: "x", raw: new Uint8Array([0xff, 0]) },
  { id: "c", total: 99_999_999, paid_at: Date.parse("2026-11-24T12:00:00Z"), qty: 3, note: null, raw: null },
]

describe("Lake", () => {
  test("commits Parquet that DuckDB and pyarrow read exactly: DECIMAL money to the cent, UTC timestamps", async () => {
    const dir = tempDir()
    const { files } = await run(
      dir,
      Lake.use((lake) => lake.commitBatch(batch(1, 0, 2, rows))),
    )
    expect(files).toEqual([
      {
        table: "silver/orders_test",
        date: "2026-11-24",
        path: join("silver/orders_test", "event_date=2026-11-24", batchFileName("events.raw", 1, 0, 2)),
        rows: 3,
        bytes: expect.any(Number),
      },
    ])
    const db = await (await DuckDBInstance.create(":memory:")).connect()
    const read = await db.runAndReadAll(
      `select sum(total)::VARCHAR as total_sum, any_value(typeof(total)) as t, min(paid_at)::VARCHAR as first_at, any_value(event_date)::VARCHAR as d
       from read_parquet('${dir}/silver/orders_test/*/*.parquet', hive_partitioning = true)`,
    )
    expect(read.getRowObjectsJson()[0]).toEqual({
      total_sum: "1000019.99",
      t: "DECIMAL(18,2)",
      first_at: "2026-11-24 10:00:00.123",
      d: "2026-11-24",
    })
    const python = process.env.PYTHON
    if (python === undefined) throw new Error("PYTHON is not set (scripts/testSetup.ts sets it)")
    const py = Bun.spawnSync([
      python,
      "-c",
      "import sys, pyarrow.dataset as ds; t = ds.dataset(sys.argv[1], partitioning='hive').to_table(); " +
        "print(t.schema.field('total').type, sum(t.column('total').to_pylist()), t.column('raw').to_pylist()[1].hex())",
      join(dir, "silver/orders_test"),
    ])
    expect(py.stderr.toString()).toBe("")
    expect(py.stdout.toString().trim()).toBe("decimal128(18, 2) 1000019.99 ff00")
  })

  test("resumes from the commit log; an overlapping batch is refused", async () => {
    const dir = tempDir()
    await run(
      dir,
      Effect.gen(function* () {
        const lake = yield* Lake
        yield* lake.commitBatch(batch(0, 0, 9, rows))
        yield* lake.commitBatch(batch(0, 10, 19, rows))
        expect((yield* lake.committedOffsets("events.raw")).map((o) => [o.partition, o.offset])).toEqual([[0, 20]])
        const again = yield* Effect.result(lake.commitBatch(batch(0, 15, 25, rows)))
        expect(again._tag === "Failure" && again.failure._tag).toBe("LakeOffsetConflict")
      }),
    )
    // A fresh process reads the same position from disk.
    const offsets = await run(
      dir,
      Lake.use((lake) => lake.committedOffsets("events.raw")),
    )
    expect(offsets[0]!.offset).toBe(20)
  })

  test("a torn commit-log line (crash mid-append) is cut: that batch never committed", async () => {
    const dir = tempDir()
    await run(
      dir,
      Lake.use((lake) => lake.commitBatch(batch(0, 0, 9, rows))),
    )
    appendFileSync(join(dir, "_lake/commits/events.raw/0.log"), '0badc0de {"from":10,"to":1')
    const offsets = await run(
      dir,
      Lake.use((lake) => lake.committedOffsets("events.raw")),
    )
    expect(offsets[0]!.offset).toBe(10)
  })

  test("recover removes uncommitted and temp files of its own partitions only", async () => {
    const dir = tempDir()
    await run(
      dir,
      Lake.use((lake) => lake.commitBatch(batch(0, 0, 9, rows))),
    )
    const day = join(dir, "silver/orders_test/event_date=2026-11-24")
    mkdirSync(day, { recursive: true })
    // What a crash between rename and commit leaves, for partition 0 and for someone else's partition 1.
    writeFileSync(join(day, batchFileName("events.raw", 0, 10, 19)), "orphan")
    writeFileSync(join(day, `${batchFileName("events.raw", 0, 20, 29)}.tmp`), "half")
    writeFileSync(join(day, batchFileName("events.raw", 1, 0, 9)), "not mine")
    const report = await run(
      dir,
      Lake.use((lake) => lake.recover("events.raw", [0])),
    )
    expect(report).toEqual({ orphansRemoved: 1, tempFilesRemoved: 1 })
    expect(readdirSync(day).sort()).toEqual([
      batchFileName("events.raw", 0, 0, 9),
      batchFileName("events.raw", 1, 0, 9),
    ])
    expect(existsSync(join(day, batchFileName("events.raw", 0, 0, 9)))).toBe(true)
  })

  test("listFiles returns the committed files of a table across partitions", async () => {
    const dir = tempDir()
    const files = await run(
      dir,
      Effect.gen(function* () {
        const lake = yield* Lake
        yield* lake.commitBatch(batch(0, 0, 9, rows))
        yield* lake.commitBatch(batch(2, 0, 4, rows.slice(0, 1)))
        return yield* lake.listFiles("silver/orders_test")
      }),
    )
    expect(files.map((f) => f.rows).sort()).toEqual([1, 3])
  })
})
