import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { utcDate } from "@shop/contract"
import { fsyncDir, type WriteFn } from "@shop/fsio"
import { Clock, Effect } from "effect"
import { type CompactionPoint, compactionContext, note } from "./CompactionContext.ts"
import { mergeDay } from "./compactionMerge.ts"
import { DEFAULT_OPEN_DAY_MIN_FILES, DEFAULT_TARGET_ROWS, planTable } from "./compactionPlan.ts"
import { recoverTable, swapDay } from "./compactionSwap.ts"
import { compactLockPath, tryLock } from "./TableLock.ts"
import type { TableSchema } from "./TableSchema.ts"
import {
  type CompactionEntry,
  entriesInEffect,
  type LakeFile,
  readCommitLogs,
  stagingRoot,
  tableView,
} from "./tableView.ts"

/*
 * Compaction in three steps, one module each: the plan (compactionPlan.ts: which table-days), the merge
 * (compactionMerge.ts: their small files into sorted outputs in a staging directory) and the swap
 * (compactionSwap.ts: under the swap lock, the commit to the table's compaction log and the directory
 * exchange; and the recovery of an interrupted run). This module runs them per table-day.
 */

export type { CompactionPoint }
export { DEFAULT_OPEN_DAY_MIN_FILES, DEFAULT_TARGET_ROWS }

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

/**
 * Compacts the small files of a lake's tables, day by day. Per table-day: merge its small files (sorted, with
 * statistics) into a staging directory, then under the table's exclusive swap lock link the files it keeps
 * beside them, append the compaction to the table's log (the commit) and exchange the staging and live
 * directories (the moment readers switch). See README, Compaction.
 */
export const compactLake = (root: string, options: CompactOptions) =>
  Effect.gen(function* () {
    const targetRows = options.targetRows ?? DEFAULT_TARGET_ROWS
    const openDayMinFiles = options.openDayMinFiles ?? DEFAULT_OPEN_DAY_MIN_FILES
    const maxGroupBytes = options.maxGroupBytes ?? 64 * 1024 * 1024
    const ctx = compactionContext(root, options)
    const { io, at } = ctx
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
        const { outputs, rowsIn } = yield* mergeDay(ctx, schema, date, id, staging, small, {
          targetRows,
          maxGroupBytes,
        })
        yield* io("sync staging", () => fsyncDir(staging))
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
        const swapped = yield* swapDay(ctx, table, date, staging, small, entry, append, () => {
          logged = true
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
      const { compactions, recovered: cleared } = yield* recoverTable(ctx, table)
      recovered += cleared
      const files = yield* io("list files", () => tableView(root, table, commitLogs, compactions.all))
      // A committed compaction can only still be waiting here if its staging directory vanished by hand.
      const stuck = new Set(
        entriesInEffect(root, compactions.all)
          .filter((s) => !s.inEffect)
          .map((s) => s.entry.date),
      )
      for (const { date, closed, small, stuck: isStuck } of planTable(files, stuck, today, {
        day: options.day,
        targetRows,
        openDayMinFiles,
      })) {
        if (isStuck) {
          yield* note(`${table} ${date}: its last compaction is committed but its staging directory is gone; skipped`)
          continue
        }
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
