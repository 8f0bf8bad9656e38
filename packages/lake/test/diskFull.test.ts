// Issue 12, case 1: a full disk while a batch is written must never commit a truncated file.
// `fs.writeSync` on a full disk returns a short count (and throws ENOSPC on the next call); these specs inject
// exactly that through the lake's write seam and check nothing is committed, the error is typed and says what
// to do, and a retry once space is back commits every row (read back with hyparquet and DuckDB).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect } from "effect"
import { parquetReadObjects } from "hyparquet"
import { ChecksummedLog } from "../src/ChecksummedLog.ts"
import { encodeParquet, Lake, type LakeBatch, type TableSchema } from "../src/index.ts"
import { col } from "../src/TableSchema.ts"
import { compactionLogPath } from "../src/tableView.ts"

// bun reads no default timeout from bunfig.toml and a preload sets it for one file only (bun #7789).
setDefaultTimeout(120_000)

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "lake-diskfull-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

type WriteFn = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => number

/**
 * A disk with `budget` bytes free, as Linux behaves: the write that crosses the limit returns a short count,
 * the next one throws ENOSPC (`after: "zero"`: returns 0 instead, forever).
 */
const fullDiskAfter = (budget: number, after: "enospc" | "zero" | "eio" = "enospc"): WriteFn => {
  let left = budget
  return (fd, buffer, offset, length, position) => {
    const n = Math.min(length, left)
    if (n <= 0) {
      if (after === "zero") return 0
      if (after === "eio") throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO", errno: -5 })
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 })
    }
    left -= n
    return writeSync(fd, buffer, offset, n, position)
  }
}

/** A healthy disk that takes at most `chunk` bytes a call (short counts are normal, not an error). */
const chunkedWrites =
  (chunk: number): WriteFn =>
  (fd, buffer, offset, length, position) =>
    writeSync(fd, buffer, offset, Math.min(chunk, length), position)

const Orders: TableSchema = {
  name: "silver/orders_test",
  sortBy: ["paid_at", "id"],
  columns: [
    col("id", "string"),
    col("total", "money_cents"),
    col("paid_at", "timestamp_ms"),
    col("qty", "int32"),
    col("note", "string", true),
  ],
}
const DAY = "2026-11-24"
const rowsOf = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: `order-${from + i}`,
    total: (from + i) * 101,
    paid_at: Date.parse(`${DAY}T00:00:00Z`) + (from + i) * 1000,
    qty: i % 7,
    note: i % 3 === 0 ? null : `note ${i} ${"x".repeat(i % 50)}`,
  }))
const batch = (from: number, count: number, partition = 0): LakeBatch => ({
  topic: "events.raw",
  partition,
  fromOffset: from,
  toOffset: from + count - 1,
  maxRecordTs: Date.parse(`${DAY}T12:00:00Z`),
  tables: [{ schema: Orders, partitions: new Map([[DAY, rowsOf(from, count)]]) }],
})
const ROWS = 3_000
/** DuckDB and hyparquet read-backs on a shared 2-core machine: well past bun's 5 s default when it is busy. */
const SLOW = 60_000
const parquetBytes = encodeParquet(Orders, rowsOf(0, ROWS), { statistics: false }).length

const run = <A, E>(dir: string, effect: Effect.Effect<A, E, Lake>, write?: WriteFn) =>
  Effect.runPromise(
    effect.pipe(Effect.provide(Lake.layerAt(dir, write === undefined ? {} : { write }))) as Effect.Effect<A, E>,
  )

/** The typed failure of `effect`; a failed expectation when it succeeded (committed) or died. */
const failureOf = async <A, E>(dir: string, effect: Effect.Effect<A, E, Lake>, write: WriteFn) => {
  const outcome = await run(
    dir,
    Effect.match(effect, {
      onFailure: (e) => ({ failed: true as const, e }),
      onSuccess: () => ({ failed: false as const }),
    }),
    write,
  ).catch((cause) => {
    throw new Error(`expected a typed failure, got a defect: ${cause instanceof Error ? cause.message : String(cause)}`)
  })
  if (!outcome.failed) throw new Error("expected a typed failure: it succeeded (the write was committed)")
  return outcome.e as unknown as { _tag: string; code?: string; path?: string; message: string }
}

const dayDir = (dir: string) => join(dir, Orders.name, `event_date=${DAY}`)
const parquetFiles = (dir: string) =>
  existsSync(dayDir(dir)) ? readdirSync(dayDir(dir)).filter((f) => f.endsWith(".parquet")) : []
const logPath = (dir: string, partition = 0) => join(dir, "_lake", "commits", "events.raw", `${partition}.log`)
const logLines = (dir: string, partition = 0) =>
  existsSync(logPath(dir, partition)) ? readFileSync(logPath(dir, partition), "utf8").split("\n").filter(Boolean) : []
const tempFiles = (dir: string) => (existsSync(join(dir, "_lake", "tmp")) ? readdirSync(join(dir, "_lake", "tmp")) : [])

/** Every row of the table through hyparquet (the committed files) and DuckDB (the glob every reader uses). */
const readBack = async (dir: string) => {
  const listed = await run(
    dir,
    Lake.use((l) => l.listFiles(Orders.name)),
  )
  const ids: Array<string> = []
  for (const f of listed) {
    const bytes = readFileSync(join(dir, f.path))
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    })
    for (const r of rows) ids.push(r.id as string)
  }
  const db = await (await DuckDBInstance.create(":memory:")).connect()
  const [duck] = (
    await db.runAndReadAll(
      `select count(*)::INTEGER as rows, count(distinct id)::INTEGER as ids, sum(total)::VARCHAR as total
       from read_parquet('${dir}/silver/orders_test/*/*.parquet')`,
    )
  ).getRowObjectsJson()
  db.closeSync()
  return { files: listed.length, hyparquetIds: new Set(ids).size, hyparquetRows: ids.length, duck }
}
const expectedTotal = (rows: number) => ((((rows * (rows - 1)) / 2) * 101) / 100).toFixed(2)

describe("disk full (issue 12): a write that did not fully happen is never committed", () => {
  test(
    `a Parquet write that hits a full disk commits nothing; the error is typed and says what to do; the retry commits all ${ROWS} rows`,
    async () => {
      const dir = tempDir()
      const error = await failureOf(
        dir,
        Lake.use((l) => l.commitBatch(batch(0, ROWS))),
        fullDiskAfter(Math.floor(parquetBytes / 2)),
      )
      expect(error._tag).toBe("LakeDiskFull")
      expect(error.code).toBe("ENOSPC")
      expect(error.message).toMatch(/^disk full writing \S+ \(ENOSPC\)/)
      expect(error.message).toContain(`free space under ${dir}`)
      expect(error.message).toContain(`nothing was committed for events.raw/0 offsets 0..${ROWS - 1}`)
      expect(error.message).not.toContain("\n")
      console.log(`one line: ${error.message}`)
      expect(logLines(dir)).toEqual([])
      expect(parquetFiles(dir)).toEqual([])
      expect(tempFiles(dir)).toEqual([]) // the partial temp file is removed at once (it holds the space)

      // Space is back: a new process recovers and commits the same batch whole.
      const { files } = await run(
        dir,
        Effect.gen(function* () {
          const lake = yield* Lake
          yield* lake.recover("events.raw", [0])
          return yield* lake.commitBatch(batch(0, ROWS))
        }),
      )
      expect(files[0]!.bytes).toBe(parquetBytes)
      expect(statSync(join(dir, files[0]!.path)).size).toBe(parquetBytes)
      expect(await readBack(dir)).toEqual({
        files: 1,
        hyparquetIds: ROWS,
        hyparquetRows: ROWS,
        duck: { rows: ROWS, ids: ROWS, total: expectedTotal(ROWS) },
      })
    },
    SLOW,
  )

  test(
    "a write that returns 0 again and again is ENOSPC, not a silent truncation",
    async () => {
      const dir = tempDir()
      const error = await failureOf(
        dir,
        Lake.use((l) => l.commitBatch(batch(0, ROWS))),
        fullDiskAfter(1000, "zero"),
      )
      expect([error._tag, error.code]).toEqual(["LakeDiskFull", "ENOSPC"])
      expect(logLines(dir)).toEqual([])
      expect(parquetFiles(dir)).toEqual([])
    },
    SLOW,
  )

  test(
    "EIO is a LakeIOError with code EIO that says the disk is failing; nothing committed",
    async () => {
      const dir = tempDir()
      const error = await failureOf(
        dir,
        Lake.use((l) => l.commitBatch(batch(0, ROWS))),
        fullDiskAfter(Math.floor(parquetBytes / 3), "eio"),
      )
      expect([error._tag, error.code]).toEqual(["LakeIOError", "EIO"])
      expect(error.message).toMatch(/^I\/O error writing \S+ \(EIO\): the disk is failing \(see dmesg\)/)
      expect(error.message).toContain(`nothing was committed for events.raw/0 offsets 0..${ROWS - 1}`)
      expect([logLines(dir), parquetFiles(dir), tempFiles(dir)]).toEqual([[], [], []])
    },
    SLOW,
  )

  test(
    "short counts on a healthy disk are continued: the file is whole",
    async () => {
      const dir = tempDir()
      await run(
        dir,
        Lake.use((l) => l.commitBatch(batch(0, ROWS))),
        chunkedWrites(777),
      )
      expect(await readBack(dir)).toEqual({
        files: 1,
        hyparquetIds: ROWS,
        hyparquetRows: ROWS,
        duck: { rows: ROWS, ids: ROWS, total: expectedTotal(ROWS) },
      })
    },
    SLOW,
  )

  test(
    "the commit-log append hits a full disk: no torn line, nothing committed, the renamed file is not left behind; the retry commits",
    async () => {
      const dir = tempDir()
      // The Parquet file fits; the disk fills 20 bytes into the commit line.
      const error = await failureOf(
        dir,
        Lake.use((l) => l.commitBatch(batch(0, ROWS))),
        fullDiskAfter(parquetBytes + 20),
      )
      expect([error._tag, error.code]).toEqual(["LakeDiskFull", "ENOSPC"])
      expect(error.message).toContain(`nothing was committed for events.raw/0 offsets 0..${ROWS - 1}`)
      expect(existsSync(logPath(dir)) ? statSync(logPath(dir)).size : 0).toBe(0)
      expect(parquetFiles(dir)).toEqual([])
      const { files } = await run(
        dir,
        Effect.gen(function* () {
          const lake = yield* Lake
          yield* lake.recover("events.raw", [0])
          yield* lake.commitBatch(batch(0, ROWS))
          return yield* lake.commitBatch(batch(ROWS, 10))
        }),
      )
      expect(files).toHaveLength(1)
      expect(logLines(dir)).toHaveLength(2)
      const back = await readBack(dir)
      expect(back.duck).toEqual({ rows: ROWS + 10, ids: ROWS + 10, total: expectedTotal(ROWS + 10) })
      expect(back.hyparquetIds).toBe(ROWS + 10)
    },
    SLOW,
  )
})

describe("ChecksummedLog append on a full disk", () => {
  test("a short append throws ENOSPC and is cut back: the next append is not glued to a torn line", () => {
    const path = join(tempDir(), "x.log")
    new ChecksummedLog<{ n: number }>(path).append({ n: 1 })
    const size = statSync(path).size
    const full = new ChecksummedLog<{ n: number }>(path, false, { write: fullDiskAfter(7) })
    let thrown: unknown
    try {
      full.append({ n: 2 })
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(Error)
    expect((thrown as { code?: string }).code).toBe("ENOSPC")
    expect((thrown as Error).message).toContain(path)
    expect(statSync(path).size).toBe(size)
    expect(full.all).toEqual([{ n: 1 }])
    // Space is back: the same instance appends, and a reader sees both lines whole.
    const healthy = new ChecksummedLog<{ n: number }>(path, false)
    healthy.append({ n: 3 })
    expect(new ChecksummedLog<{ n: number }>(path, true).all).toEqual([{ n: 1 }, { n: 3 }])
  })

  test("a 0-byte write repeated is ENOSPC, the file keeps its size", () => {
    const path = join(tempDir(), "y.log")
    const log = new ChecksummedLog<{ n: number }>(path, false, { write: fullDiskAfter(0, "zero") })
    expect(() => log.append({ n: 1 })).toThrow(/ENOSPC/)
    expect(existsSync(path) ? statSync(path).size : 0).toBe(0)
  })
})

describe("compaction output on a full disk", () => {
  const threeBatches = async () => {
    const dir = tempDir()
    await run(
      dir,
      Effect.gen(function* () {
        const lake = yield* Lake
        yield* lake.commitBatch(batch(0, 1000))
        yield* lake.commitBatch(batch(1000, 1000))
        yield* lake.commitBatch(batch(2000, 1000))
      }),
    )
    return dir
  }
  const compact = (write?: WriteFn) =>
    Lake.use((l) => l.compact({ tables: [Orders], day: DAY, ...(write === undefined ? {} : { write }) }))

  test(
    "an output that hits a full disk is never swapped in nor logged; readers keep every row; the retry compacts",
    async () => {
      const dir = await threeBatches()
      const before = await readBack(dir)
      expect(before.files).toBe(3)
      const error = await failureOf(dir, compact(), fullDiskAfter(5_000))
      expect([error._tag, error.code]).toEqual(["LakeDiskFull", "ENOSPC"])
      expect(error.message).toMatch(/^disk full writing \S+compacted-\S+\.parquet \(ENOSPC\)/)
      expect(parquetFiles(dir)).toHaveLength(3)
      expect(
        existsSync(compactionLogPath(dir, Orders.name)) ? statSync(compactionLogPath(dir, Orders.name)).size : 0,
      ).toBe(0)
      const staging = join(dir, "_lake", "staging", Orders.name)
      expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]) // its space is given back at once
      expect(await readBack(dir)).toEqual(before)
      await run(dir, compact())
      const after = await readBack(dir)
      expect(after.files).toBe(1)
      expect({ ...after, files: 3 }).toEqual(before)
    },
    SLOW,
  )

  test(
    "the compaction-log append hits a full disk: not committed, no torn line; the retry compacts",
    async () => {
      const dir = await threeBatches()
      const before = await readBack(dir)
      // How big the output is: compact a copy first.
      const copy = tempDir()
      cpSync(dir, copy, { recursive: true })
      const report = await run(copy, compact())
      const outputBytes = report.days[0]!.bytesAfter
      const error = await failureOf(dir, compact(), fullDiskAfter(outputBytes + 30))
      expect([error._tag, error.code]).toEqual(["LakeDiskFull", "ENOSPC"])
      expect(
        existsSync(compactionLogPath(dir, Orders.name)) ? statSync(compactionLogPath(dir, Orders.name)).size : 0,
      ).toBe(0)
      expect(parquetFiles(dir)).toHaveLength(3)
      expect(await readBack(dir)).toEqual(before)
      await run(dir, compact())
      expect((await readBack(dir)).files).toBe(1)
      expect({ ...(await readBack(dir)), files: 3 }).toEqual(before)
    },
    SLOW,
  )
})
