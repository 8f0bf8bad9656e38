import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { utcDate } from "@shop/contract"
import { fsyncDir, type WriteFn, writeFileAll } from "@shop/fsio"
import { Clock, Effect } from "effect"
import { type LakeDiskFull, LakeIOError, lakeError } from "./LakeError.ts"
import { lakeLayout } from "./layout.ts"
import { exchangeDirs } from "./libc.ts"
import { encodeParquetColumns } from "./parquetFile.ts"
import { readParquetColumns } from "./readParquetColumns.ts"
import { compactLockPath, type HeldLock, swapLockPath, tryLock, waitForLock } from "./TableLock.ts"
import type { TableSchema } from "./TableSchema.ts"
import {
  type CompactionEntry,
  dayDir,
  entriesInEffect,
  type LakeFile,
  readCommitLogs,
  readCompactionLog,
  stagingRoot,
  tableView,
} from "./tableView.ts"

/** Where a crash spec may kill a compaction: after each durable step. */
export type CompactionPoint = "outputWritten" | "staged" | "logged" | "exchanged" | "cleaned"

export interface CompactOptions {
  readonly tables: ReadonlyArray<TableSchema>
  /** Only this day (and then any day with two or more small files, open or not). */
  readonly day?: string
  /** Print the plan, change nothing. */
  readonly dryRun?: boolean
  /** A file with fewer rows is small; outputs hold at least this many rows when the day has them. */
  readonly targetRows?: number
  /** The open day (today by the lake's newest record time) is compacted once it has this many small files. */
  readonly openDayMinFiles?: number
  /** Source bytes read into memory for one output at most (bounds memory when rows are wide). */
  readonly maxGroupBytes?: number
  /** How long to wait for writers and readers to step aside for a directory swap. */
  readonly lockTimeoutMs?: number
  readonly faults?: (point: CompactionPoint) => void
  /** The `writeSync` seam for disk-full specs: outputs and the compaction log are written through it. */
  readonly write?: WriteFn
}

export interface DayCompaction {
  readonly table: string
  readonly date: string
  readonly closed: boolean
  readonly filesBefore: number
  readonly filesAfter: number
  readonly rows: number
  readonly bytesBefore: number
  readonly bytesAfter: number
  readonly ms: number
  /** Why nothing was swapped (dry run, lock busy, files changed meanwhile). */
  readonly skipped?: string
}

export interface CompactionReport {
  readonly days: ReadonlyArray<DayCompaction>
  /** Staging directories of interrupted compactions that were finished or cleared first. */
  readonly recovered: number
}

export const DEFAULT_TARGET_ROWS = 100_000
export const DEFAULT_OPEN_DAY_MIN_FILES = 64

const fsyncPath = fsyncDir

/** Row order of a compacted file: the table's sort columns, numbers and strings compared as such. */
const sortPermutation = (columns: ReadonlyMap<string, Array<unknown>>, rows: number, sortBy: ReadonlyArray<string>) => {
  const keys = sortBy.map((k) => columns.get(k)).filter((c): c is Array<unknown> => c !== undefined)
  const order = Array.from({ length: rows }, (_, i) => i)
  order.sort((a, b) => {
    for (const k of keys) {
      const x = k[a] as number | string | null
      const y = k[b] as number | string | null
      if (x === y) continue
      if (x === null) return -1
      if (y === null) return 1
      return x < y ? -1 : 1
    }
    return a - b
  })
  return order
}

/** Rows per output so that a day's small files become outputs of about equal size, each >= target if possible. */
const rowsPerOutput = (totalRows: number, targetRows: number) =>
  Math.ceil(totalRows / Math.max(1, Math.floor(totalRows / targetRows)))

/** Roughly what decoded values take in memory: string and byte lengths, plus 8 bytes a value. */
const decodedBytes = (columns: ReadonlyMap<string, Array<unknown>>) => {
  let n = 0
  for (const values of columns.values()) {
    for (const v of values) n += typeof v === "string" ? v.length : v instanceof Uint8Array ? v.length : 8
  }
  return n
}

/**
 * Links every Parquet file of the live day directory that the compaction does not replace (files writers
 * committed since it was planned, earlier big files) into the staging directory, so the exchange keeps them.
 * Stale links from an earlier attempt are dropped first. Runs under the exclusive swap lock.
 */
const stageKeptFiles = (live: string, staging: string, entry: CompactionEntry) => {
  const outputs = new Set(entry.outputs.map((f) => basename(f.path)))
  for (const f of readdirSync(staging)) if (!outputs.has(f)) rmSync(join(staging, f), { force: true })
  const replaced = new Set(entry.replaced.map((p) => basename(p)))
  for (const f of readdirSync(live)) {
    if (f.endsWith(".parquet") && !replaced.has(f) && !outputs.has(f)) linkSync(join(live, f), join(staging, f))
  }
  fsyncPath(staging)
}

/** The exchange: one rename(2) makes the new set visible to every reader at once. */
const swapIn = (live: string, staging: string) => {
  exchangeDirs(live, staging)
  fsyncPath(dirname(live))
  fsyncPath(dirname(staging))
}

/**
 * Compacts the small files of a lake's tables, day by day. Per table-day: merge its small files (sorted, with
 * statistics) into a staging directory, then under the table's exclusive swap lock link the files it keeps
 * beside them, append the compaction to the table's log (the commit) and exchange the staging and live
 * directories (the moment readers switch). See README, Compaction.
 */
/** Compaction's progress lines, as `[compact] ...` in the program's log (Effect.log with its component). */
const note = (line: string) => Effect.log(line).pipe(Effect.annotateLogs("component", "compact"))

export const compactLake = (root: string, options: CompactOptions) =>
  Effect.gen(function* () {
    const targetRows = options.targetRows ?? DEFAULT_TARGET_ROWS
    const openDayMinFiles = options.openDayMinFiles ?? DEFAULT_OPEN_DAY_MIN_FILES
    const maxGroupBytes = options.maxGroupBytes ?? 64 * 1024 * 1024
    const lockTimeoutMs = options.lockTimeoutMs ?? 60_000
    const at = options.faults ?? (() => {})
    const writeOptions = options.write === undefined ? {} : { write: options.write }
    const fail =
      (what: string, consequence?: string) =>
      (cause: unknown): LakeIOError | LakeDiskFull =>
        lakeError(what, cause, { root, ...(consequence === undefined ? {} : { consequence }) })
    const io = <A>(what: string, f: () => A, consequence?: string) =>
      Effect.try({ try: f, catch: fail(what, consequence) })
    const commitLogs = yield* io("read commit logs", () => readCommitLogs(root))
    // "Today" by record time, like every time rule here: a replay or backfill compacts the same way.
    // (never past the wall clock: a producer with a clock far ahead must not close the open day early).
    const newest = Math.min(
      yield* Clock.currentTimeMillis,
      commitLogs.reduce((m, l) => Math.max(m, l.entries.at(-1)?.maxRecordTs ?? 0), 0),
    )
    const today = newest > 0 ? utcDate(newest) : "9999-12-31"
    const days: Array<DayCompaction> = []
    let recovered = 0

    const swapLock = (table: string) =>
      waitForLock(swapLockPath(root, table), "exclusive", lockTimeoutMs).pipe(
        Effect.flatMap((l) =>
          l === undefined
            ? Effect.fail(
                new LakeIOError({
                  message: `${table}: writers or readers held the swap lock for ${lockTimeoutMs} ms; try again later`,
                }),
              )
            : Effect.succeed(l),
        ),
      )

    /** Finishes (rolls forward) or clears what an interrupted compaction of this table left in staging. */
    const recoverTable = Effect.fnUntraced(function* (table: string) {
      const compactions = yield* io("read compaction log", () => readCompactionLog(root, table, false, writeOptions))
      const dir = stagingRoot(root, table)
      if (!existsSync(dir)) return compactions
      const state = new Map(entriesInEffect(root, compactions.all).map((s) => [s.entry.id, s]))
      for (const id of readdirSync(dir)) {
        const staging = join(dir, id)
        const s = state.get(id)
        if (s !== undefined && !s.inEffect) {
          // Committed but not swapped in: finish it, keeping whatever writers committed since.
          const lock = yield* swapLock(table)
          yield* io(`finish compaction ${id}`, () => {
            try {
              const live = dayDir(root, table, s.entry.date)
              stageKeptFiles(live, staging, s.entry)
              swapIn(live, staging)
            } finally {
              lock.release()
            }
          })
          yield* note(`${table} ${s.entry.date}: finished an interrupted compaction`)
        }
        // Never committed, or swapped in already (then it holds the replaced files): remove it.
        yield* io("remove staging", () => rmSync(staging, { recursive: true, force: true }))
        recovered++
      }
      return compactions
    })

    const compactDay = Effect.fnUntraced(function* (
      schema: TableSchema,
      date: string,
      closed: boolean,
      small: ReadonlyArray<LakeFile>,
      append: (entry: CompactionEntry) => void,
    ) {
      const table = schema.name
      const started = performance.now()
      const stamp = `${(yield* Clock.currentTimeMillis).toString(36)}${Math.floor(Math.random() * 36 ** 4)
        .toString(36)
        .padStart(4, "0")}`
      const id = `${date}-${stamp}`
      const staging = join(stagingRoot(root, table), id)
      const notCommitted = `the compaction of ${table} ${date} was not committed (readers keep its old files)`
      // Set once the compaction's log line is appended: from then on its staging directory is what the next
      // run rolls forward, so a failure must not remove it.
      let logged = false
      return yield* Effect.gen(function* () {
        yield* io("create staging", () => mkdirSync(staging, { recursive: true }), notCommitted)
        const ordered = [...small].sort((a, b) => a.maxRecordTs - b.maxRecordTs || (a.path < b.path ? -1 : 1))
        const outputs: Array<LakeFile> = []
        let rowsIn = 0
        const perOutput = rowsPerOutput(
          small.reduce((s, f) => s + f.rows, 0),
          targetRows,
        )
        // One output at a time in memory: files are decoded and appended to it (oldest batches first) until it
        // has its rows or its decoded size reaches maxGroupBytes (huge Bronze payloads), then it is sorted,
        // encoded and written, and dropped.
        let merged = new Map<string, Array<unknown>>()
        let group: Array<LakeFile> = []
        let rows = 0
        let size = 0
        const flush = Effect.fnUntraced(function* () {
          const order = sortPermutation(merged, rows, schema.sortBy ?? [])
          for (const [name, values] of merged)
            merged.set(
              name,
              order.map((i) => values[i]),
            )
          const name = `compacted-${id}-${String(outputs.length).padStart(3, "0")}.parquet`
          const bytes = encodeParquetColumns(schema, merged, rows, { statistics: true, rowGroupRows: 128 * 1024 })
          // Written whole, fsynced and read back (size, PAR1 at both ends, footer length) before it can be staged.
          yield* io(
            `write ${name}`,
            () => writeFileAll(join(staging, name), bytes, { ...writeOptions, parquet: true }),
            notCommitted,
          )
          outputs.push({
            table,
            date,
            path: lakeLayout.dayFilePath(table, date, name),
            rows,
            bytes: bytes.length,
            sources: [...new Set(group.flatMap((f) => f.sources))].sort(),
            maxRecordTs: group.reduce((m, f) => Math.max(m, f.maxRecordTs), 0),
          })
          rowsIn += rows
          const big = rows >= 10_000
          merged = new Map()
          group = []
          rows = 0
          size = 0
          // Collect the output's columns before the next one is read: Bun's collector would let several pile up.
          if (big) Bun.gc(true)
          yield* Effect.yieldNow
        })
        for (const f of ordered) {
          const bytes = yield* io(`read ${f.path}`, () => readFileSync(join(root, f.path)))
          const part = yield* Effect.tryPromise({
            try: () =>
              readParquetColumns(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), schema),
            catch: fail(`decode ${f.path}`),
          })
          if (part.rows !== f.rows) {
            return yield* new LakeIOError({ message: `${f.path}: ${part.rows} rows, the log says ${f.rows}` })
          }
          for (const [name, values] of part.columns) {
            const into = merged.get(name)
            if (into === undefined) merged.set(name, values)
            else for (const v of values) into.push(v)
          }
          group.push(f)
          rows += part.rows
          size += decodedBytes(part.columns)
          if (rows >= perOutput || size >= maxGroupBytes) yield* flush()
        }
        if (rows > 0) yield* flush()
        if (rowsIn !== small.reduce((s, f) => s + f.rows, 0)) {
          return yield* new LakeIOError({ message: `${table} ${date}: merged ${rowsIn} rows, expected more` })
        }
        yield* io("sync staging", () => fsyncPath(staging))
        at("outputWritten")
        const entry: CompactionEntry = {
          id,
          table,
          date,
          replaced: small.map((f) => f.path),
          outputs,
          committedAt: new Date().toISOString(),
        }
        const result = {
          table,
          date,
          closed,
          filesBefore: small.length,
          filesAfter: outputs.length,
          rows: rowsIn,
          bytesBefore: small.reduce((s, f) => s + f.bytes, 0),
          bytesAfter: outputs.reduce((s, f) => s + f.bytes, 0),
        }
        const lock: HeldLock = yield* swapLock(table)
        // Everything from here to the release is synchronous, so a writer in this same process never waits on it.
        const swapped = yield* io(`swap ${table} ${date}`, () => {
          try {
            const live = dayDir(root, table, date)
            const present = new Set(readdirSync(live))
            if (!small.every((f) => present.has(basename(f.path)))) return false
            stageKeptFiles(live, staging, entry)
            at("staged")
            append(entry)
            logged = true
            at("logged")
            swapIn(live, staging)
            at("exchanged")
            return true
          } finally {
            lock.release()
          }
        })
        // After the exchange the staging directory holds the replaced files; otherwise the unused outputs.
        yield* io("remove staging", () => rmSync(staging, { recursive: true, force: true }))
        if (swapped) at("cleaned")
        const ms = Math.round(performance.now() - started)
        const done: DayCompaction = swapped
          ? { ...result, ms }
          : { ...result, filesAfter: small.length, ms, skipped: "files changed meanwhile" }
        return done
      }).pipe(
        // Not committed: its outputs hold space the disk may badly need; give it back now.
        Effect.onError(() =>
          Effect.sync(() => {
            if (!logged) rmSync(staging, { recursive: true, force: true })
          }).pipe(Effect.ignore),
        ),
      )
    })

    const compactTable = Effect.fnUntraced(function* (schema: TableSchema) {
      const table = schema.name
      const compactions = yield* recoverTable(table)
      const byDate = new Map<string, Array<LakeFile>>()
      for (const f of yield* io("list files", () => tableView(root, table, commitLogs, compactions.all))) {
        if (options.day !== undefined && f.date !== options.day) continue
        const list = byDate.get(f.date)
        if (list === undefined) byDate.set(f.date, [f])
        else list.push(f)
      }
      // A committed compaction can only still be waiting here if its staging directory vanished by hand.
      const stuck = new Set(
        entriesInEffect(root, compactions.all)
          .filter((s) => !s.inEffect)
          .map((s) => s.entry.date),
      )
      for (const [date, files] of [...byDate].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (stuck.has(date)) {
          yield* note(`${table} ${date}: its last compaction is committed but its staging directory is gone; skipped`)
          continue
        }
        const closed = date < today
        const small = files.filter((f) => f.rows < targetRows)
        const wanted = options.day !== undefined || closed ? 2 : openDayMinFiles
        if (small.length < wanted) continue
        const rows = small.reduce((s, f) => s + f.rows, 0)
        if (options.dryRun === true) {
          yield* note(`${table} ${date}${closed ? "" : " (open)"}: would merge ${small.length} files, ${rows} rows`)
          days.push({
            table,
            date,
            closed,
            filesBefore: small.length,
            filesAfter: Math.max(1, Math.floor(rows / targetRows)),
            rows,
            bytesBefore: small.reduce((s, f) => s + f.bytes, 0),
            bytesAfter: 0,
            ms: 0,
            skipped: "dry run",
          })
          continue
        }
        const done = yield* compactDay(schema, date, closed, small, (e) => compactions.append(e))
        yield* note(
          `${table} ${date}${closed ? "" : " (open)"}: ` +
            (done.skipped === undefined
              ? `${done.filesBefore} files -> ${done.filesAfter}, ${done.rows} rows, ` +
                `${(done.bytesBefore / 1e6).toFixed(1)} -> ${(done.bytesAfter / 1e6).toFixed(1)} MB in ${done.ms} ms`
              : `skipped (${done.skipped})`),
        )
        days.push(done)
      }
    })

    for (const schema of options.tables) {
      const compacting = tryLock(compactLockPath(root, schema.name), "exclusive")
      if (compacting === undefined) {
        yield* note(`${schema.name}: another compaction is running, skipped`)
        continue
      }
      // Released however the table's compaction ends (a failure must not keep the lock in a long-running loop).
      yield* compactTable(schema).pipe(Effect.ensuring(Effect.sync(() => compacting.release())))
    }
    return { days, recovered } satisfies CompactionReport
  })
