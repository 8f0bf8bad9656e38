import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { FsWriteError, fsyncFiles, renameVerified, type WriteFn, writeFileAll } from "@shop/fsio"
import { scopedTempDir } from "@shop/runtime/testing"
import { Config, Context, Effect, Layer } from "effect"
import { type BatchCounts, CommitLog, type CommittedFile } from "./CommitLog.ts"
import { CommitLogTail } from "./CommitLogTail.ts"
import { type ChangedDays, type CommitProgress, changedDays } from "./changedDays.ts"
import { type CompactionReport, type CompactOptions, compactLake } from "./compaction.ts"
import {
  type LakeDiskFull,
  type LakeError,
  LakeIOError,
  LakeOffsetConflict,
  LakeRowsUnwritable,
  lakeError,
} from "./LakeError.ts"
import { lakeLayout } from "./layout.ts"
import { encodeParquet } from "./parquetFile.ts"
import type { Row } from "./silverRows.ts"
import { lockTablesShared, waitForLock } from "./TableLock.ts"
import type { TableSchema } from "./TableSchema.ts"
import { type LakeFile, tableView } from "./tableView.ts"

export interface TableBatch {
  readonly schema: TableSchema
  /** Rows by hive partition value (the UTC `event_date`). */
  readonly partitions: ReadonlyMap<string, ReadonlyArray<Row>>
}

/** One micro-batch of one source partition: offsets `fromOffset..toOffset` (inclusive) and what they became. */
export interface LakeBatch {
  readonly topic: string
  readonly partition: number
  readonly fromOffset: number
  readonly toOffset: number
  readonly maxRecordTs: number
  readonly tables: ReadonlyArray<TableBatch>
}

export interface RecoveryReport {
  readonly orphansRemoved: number
  readonly tempFilesRemoved: number
}

const pad = (n: number) => String(n).padStart(20, "0")

/** `<topic>-<partition>-<from>-<to>.parquet`: replaying a batch writes the same names. */
export const batchFileName = (topic: string, partition: number, from: number, to: number) =>
  `${topic}-${partition}-${pad(from)}-${pad(to)}.parquet`

const bestEffort = (f: () => void) => {
  try {
    f()
  } catch {
    // already failing: the first error is the one reported
  }
}

/** Test hooks for fault specs. */
export interface LakeFaults {
  /** Called between the rename of a batch's files and its commit-log append (a crash there). */
  readonly afterRename?: () => void
  /** The encoder refuses a row for which this says false, as a value it cannot hold or a bug would. */
  readonly encodeRow?: (table: string, row: Row) => boolean
  /** Every write of the lake (Parquet files, commit and compaction logs) goes through it: a `writeSync` seam. */
  readonly write?: WriteFn
}

interface StagedFile {
  readonly temp: string
  readonly absDir: string
  readonly file: CommittedFile
}

/** A batch whose files are written under temp names, not yet visible (see `Lake.stageBatch`). */
export interface StagedBatch {
  readonly batch: LakeBatch
  readonly files: ReadonlyArray<StagedFile>
}

export const makeLake = (dir: string, faults: LakeFaults = {}) =>
  Effect.sync(() => {
    const root = resolve(dir)
    const io = <A>(what: string, f: () => A, consequence?: string): Effect.Effect<A, LakeIOError | LakeDiskFull> =>
      Effect.try({
        try: f,
        catch: (cause) => lakeError(what, cause, consequence === undefined ? { root } : { root, consequence }),
      })
    const writeOptions = faults.write === undefined ? {} : { write: faults.write }
    const logs = new Map<string, CommitLog>()
    const logOf = (topic: string, partition: number) => {
      const key = `${topic}/${partition}`
      let log = logs.get(key)
      if (log === undefined) {
        log = new CommitLog(lakeLayout.commitLogPath(root, topic, partition), false, writeOptions)
        logs.set(key, log)
      }
      return log
    }

    /** Every day directory of the stream's tables (bronze/ and silver/). */
    const partitionDirs = (): Array<string> => lakeLayout.dayDirs(root, ["bronze", "silver"])

    /** Encodes one table-day; when the encoder throws, finds the rows it refuses by encoding each alone. */
    const encodeRows = (
      schema: TableSchema,
      rows: ReadonlyArray<Row>,
    ): { bytes: Uint8Array } | { refused: Array<{ table: string; row: Row; reason: string }> } => {
      const encode = (rs: ReadonlyArray<Row>) => {
        const refused = faults.encodeRow === undefined ? undefined : rs.find((r) => !faults.encodeRow!(schema.name, r))
        if (refused !== undefined) throw new Error("injected encode fault")
        return encodeParquet(schema, rs, { statistics: false })
      }
      try {
        return { bytes: encode(rows) }
      } catch {
        const refused: Array<{ table: string; row: Row; reason: string }> = []
        for (const row of rows) {
          try {
            encode([row])
          } catch (cause) {
            refused.push({ table: schema.name, row, reason: cause instanceof Error ? cause.message : String(cause) })
          }
        }
        // Every row alone encodes but not all together: no single record is to blame, so it is a defect.
        if (refused.length === 0) throw new Error(`${schema.name}: the batch does not encode, though each row does`)
        return { refused }
      }
    }

    const removeStaged = (staged: StagedBatch) => {
      for (const s of staged.files) bestEffort(() => rmSync(s.temp, { force: true }))
    }
    const notCommitted = (batch: LakeBatch) =>
      `nothing was committed for ${batch.topic}/${batch.partition} offsets ${batch.fromOffset}..${batch.toOffset}`

    /**
     * Step 1 of a commit: encode every table-day of the batch and write it durably under a temp name outside
     * the tables. Nothing is visible to readers yet. Rows the encoder refuses fail the whole step with
     * LakeRowsUnwritable (no file is left behind).
     */
    const stageBatch = Effect.fn("Lake.stageBatch")(function* (batch: LakeBatch) {
      const name = batchFileName(batch.topic, batch.partition, batch.fromOffset, batch.toOffset)
      const tempDir = lakeLayout.tempDir(root)
      yield* io("create temp dir", () => mkdirSync(tempDir, { recursive: true }))
      const files: Array<StagedFile> = []
      const syncs: Array<Promise<void>> = []
      const refused: Array<{ table: string; row: Row; reason: string }> = []
      const staged: StagedBatch = { batch, files }
      for (const table of batch.tables) {
        for (const [date, rows] of table.partitions) {
          if (rows.length === 0) continue
          const encoded = encodeRows(table.schema, rows)
          if ("refused" in encoded) {
            refused.push(...encoded.refused)
            continue
          }
          if (refused.length > 0) continue
          const bytes = encoded.bytes
          const relDir = lakeLayout.dayDirPath(table.schema.name, date)
          // Written outside the table (a compaction may swap the day's directory meanwhile) under a name no
          // `*.parquet` glob matches, whole (a full disk returns a short count, then ENOSPC), read back (size,
          // PAR1 at both ends, footer length), fsynced below with the batch's other files, and renamed into
          // place by publishBatch.
          const temp = join(tempDir, `${name}.${table.schema.name.replace("/", "+")}.${date}.tmp`)
          yield* io(
            "writing a batch file",
            () => writeFileAll(temp, bytes, { ...writeOptions, parquet: true, fsync: false }),
            notCommitted(batch),
          ).pipe(
            Effect.tapError(() =>
              Effect.sync(() => {
                removeStaged(staged)
                bestEffort(() => rmSync(temp, { force: true }))
              }),
            ),
          )
          const synced = fsyncFiles([temp])
          synced.catch(() => {}) // awaited below; not an unhandled rejection if the batch fails first
          syncs.push(synced)
          files.push({
            temp,
            absDir: join(root, relDir),
            file: { table: table.schema.name, date, path: join(relDir, name), rows: rows.length, bytes: bytes.length },
          })
        }
      }
      if (refused.length === 0) {
        // Each file's fsync was started as soon as it was written and ran off this thread while the next ones
        // were encoded; all must be done before any is renamed into a table.
        yield* Effect.tryPromise({
          try: () => Promise.all(syncs),
          catch: (cause) => lakeError("syncing a batch file", cause, { root, consequence: notCommitted(batch) }),
        }).pipe(Effect.tapError(() => Effect.sync(() => removeStaged(staged))))
      }
      if (refused.length > 0) {
        removeStaged(staged)
        return yield* new LakeRowsUnwritable({
          message: `${refused.length} rows of ${batch.topic}/${batch.partition} ${batch.fromOffset}..${batch.toOffset} cannot be encoded: ${refused[0]!.table}: ${refused[0]!.reason}`,
          rows: refused,
        })
      }
      return staged
    })

    /**
     * Step 2: rename the staged files into their day directories and append the batch to its partition's commit
     * log: that append is the commit. Callers that must decide something against other writers' commits do it
     * inside `withCommitLock`, between the two steps.
     */
    const publishBatch = Effect.fn("Lake.publishBatch")(function* (staged: StagedBatch, counts?: BatchCounts) {
      const { batch } = staged
      const log = yield* io("open commit log", () => logOf(batch.topic, batch.partition))
      if (batch.fromOffset < log.nextOffset) {
        removeStaged(staged)
        return yield* new LakeOffsetConflict({
          message: `${batch.topic}/${batch.partition}: offsets ${batch.fromOffset}..${batch.toOffset} overlap the committed log (next offset ${log.nextOffset})`,
        })
      }
      // Shared swap locks from the first rename to the commit: a compaction never exchanges a day's directory
      // between the two (the file would be left behind in the old one). Writers do not wait for each other.
      const locks = yield* io(
        "committing a batch",
        () =>
          lockTablesShared(
            root,
            staged.files.map((s) => s.file.table),
          ),
        notCommitted(batch),
      )
      const renamed: Array<string> = []
      // The commit line could not be cut back after a failed append: then the restart's log decides.
      let torn = false
      const step = <A>(f: () => A) =>
        io(
          "committing a batch",
          () => {
            try {
              return f()
            } catch (cause) {
              if (cause instanceof FsWriteError && cause.restoreTo !== undefined) torn = true
              throw cause
            }
          },
          notCommitted(batch),
        )
      return yield* Effect.gen(function* () {
        const dirs = yield* step(() => {
          const dirs = new Set<string>()
          for (const s of staged.files) {
            mkdirSync(s.absDir, { recursive: true })
            const target = join(root, s.file.path)
            renameVerified(s.temp, target, { expectedBytes: s.file.bytes, fsyncDir: false })
            renamed.push(target)
            dirs.add(s.absDir)
          }
          return dirs
        })
        // Every directory at once, off this thread (one after another they were most of the lock's hold time).
        yield* Effect.tryPromise({
          try: () => fsyncFiles([...dirs]),
          catch: (cause) => lakeError("committing a batch", cause, { root, consequence: notCommitted(batch) }),
        })
        return yield* step(() => {
          faults.afterRename?.()
          const files = staged.files.map((s) => s.file)
          log.append({
            from: batch.fromOffset,
            to: batch.toOffset,
            files,
            maxRecordTs: batch.maxRecordTs,
            committedAt: new Date().toISOString(),
            ...(counts === undefined ? {} : { counts }),
          })
          return { files }
        })
      }).pipe(
        Effect.tapError(() =>
          Effect.sync(() => {
            // Not committed: give the space back now (recover() would remove them at the next start). Unless
            // the commit line could not be cut back: then the restart's log decides, so leave the files.
            if (!torn) {
              removeStaged(staged)
              for (const r of renamed) bestEffort(() => rmSync(r, { force: true }))
            }
          }),
        ),
        Effect.ensuring(Effect.sync(() => locks.release())),
      )
    })

    const commitBatch = Effect.fn("Lake.commitBatch")(function* (batch: LakeBatch, counts?: BatchCounts) {
      return yield* publishBatch(yield* stageBatch(batch), counts)
    })

    /**
     * Runs `effect` holding the lake's exclusive commit lock: no other process publishes a batch meanwhile, so
     * what it reads of the commit logs stays current until its own publish (how processors that split the
     * partitions keep Silver free of an event_id twice).
     */
    const withCommitLock = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        waitForLock(lakeLayout.commitLockPath(root), "exclusive", 86_400_000).pipe(
          Effect.flatMap((lock) =>
            lock === undefined
              ? Effect.fail(
                  new LakeIOError({ message: "the lake's commit lock was held for a day; is a writer stuck?" }),
                )
              : Effect.succeed(lock),
          ),
        ),
        () => effect,
        (lock) => Effect.sync(() => lock.release()),
      )

    const committedOffsets = (topic: string) =>
      io("read commit logs", () =>
        lakeLayout.commitLogs(root, topic).map(({ partition }) => {
          const log = logOf(topic, partition)
          return { topic, partition, offset: log.nextOffset, maxRecordTs: log.all.at(-1)?.maxRecordTs ?? null }
        }),
      )

    /**
     * Makes the directories agree with the commit logs of the given source partitions: a file named for one
     * of them but listed in no committed batch (a crash between rename and commit) is removed, as are temp
     * files. Only the owner of those partitions may call it (another processor's files are not touched).
     */
    const recover = (topic: string, partitions: ReadonlyArray<number>) =>
      io("recover lake", (): RecoveryReport => {
        const committed = new Set<string>()
        for (const p of partitions) {
          for (const entry of logOf(topic, p).all) for (const f of entry.files) committed.add(join(root, f.path))
        }
        const prefixes = partitions.map((p) => `${topic}-${p}-`)
        let orphansRemoved = 0
        let tempFilesRemoved = 0
        const tempDir = lakeLayout.tempDir(root)
        if (existsSync(tempDir)) {
          for (const f of readdirSync(tempDir)) {
            if (!prefixes.some((p) => f.startsWith(p))) continue
            rmSync(join(tempDir, f), { force: true })
            tempFilesRemoved++
          }
        }
        // Shared swap locks: a compaction must not link an orphan into its staging directory while we delete it
        // here, or the exchange would bring it back.
        const dirs = partitionDirs()
        const locks = lockTablesShared(
          root,
          dirs.map((d) => relative(root, dirname(d))),
        )
        try {
          for (const d of dirs) {
            if (!existsSync(d)) continue
            for (const f of readdirSync(d)) {
              if (!prefixes.some((p) => f.startsWith(p))) continue
              const path = join(d, f)
              if (f.endsWith(".tmp")) {
                rmSync(path, { force: true })
                tempFilesRemoved++
              } else if (f.endsWith(".parquet") && !committed.has(path)) {
                rmSync(path, { force: true })
                orphansRemoved++
              }
            }
          }
        } finally {
          locks.release()
        }
        return { orphansRemoved, tempFilesRemoved }
      })

    /**
     * Committed files of a table (paths relative to the lake root), from every source partition's log, as
     * compactions in effect replaced them.
     */
    const listFiles = (table: string) =>
      io("list files", (): ReadonlyArray<LakeFile> => {
        const logs = lakeLayout.commitLogs(root).map(({ topic, partition }) => ({
          source: `${topic}-${partition}`,
          entries: logOf(topic, partition).all,
        }))
        return tableView(root, table, logs)
      })

    const compact = (options: CompactOptions) =>
      compactLake(
        root,
        options.write === undefined && faults.write !== undefined ? { ...options, write: faults.write } : options,
      )

    return Lake.of({
      root,
      tail: Effect.sync(() => new CommitLogTail(root)),
      changedDays: (since: CommitProgress) => io("read commit logs", () => changedDays(root, since)),
      stageBatch,
      publishBatch,
      discardBatch: (staged: StagedBatch) => Effect.sync(() => removeStaged(staged)),
      commitBatch,
      withCommitLock,
      committedOffsets,
      recover,
      listFiles,
      compact,
    })
  })

/**
 * The Parquet lake under `$DATA_DIR` (bronze/, silver/, and `_lake/commits/`, its source of truth).
 * See packages/lake/README.md for the commit protocol.
 */
export class Lake extends Context.Service<
  Lake,
  {
    readonly root: string
    /**
     * A new follower of every commit log, read-only (for other processes than the writer): each `poll()` gives
     * the batches committed since the previous one.
     */
    readonly tail: Effect.Effect<CommitLogTail>
    /** The Silver days that batches committed since `since` wrote to, and where to read from next time. */
    readonly changedDays: (since: CommitProgress) => Effect.Effect<ChangedDays, LakeIOError | LakeDiskFull>
    readonly stageBatch: (
      batch: LakeBatch,
    ) => Effect.Effect<StagedBatch, LakeIOError | LakeDiskFull | LakeRowsUnwritable>
    readonly publishBatch: (
      staged: StagedBatch,
      counts?: BatchCounts,
    ) => Effect.Effect<
      { readonly files: ReadonlyArray<CommittedFile> },
      LakeIOError | LakeDiskFull | LakeOffsetConflict
    >
    readonly discardBatch: (staged: StagedBatch) => Effect.Effect<void>
    /** stageBatch then publishBatch. */
    readonly commitBatch: (
      batch: LakeBatch,
      counts?: BatchCounts,
    ) => Effect.Effect<{ readonly files: ReadonlyArray<CommittedFile> }, LakeError>
    readonly withCommitLock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LakeIOError, R>
    readonly committedOffsets: (
      topic: string,
    ) => Effect.Effect<
      ReadonlyArray<{ topic: string; partition: number; offset: number; maxRecordTs: number | null }>,
      LakeIOError | LakeDiskFull
    >
    readonly recover: (
      topic: string,
      partitions: ReadonlyArray<number>,
    ) => Effect.Effect<RecoveryReport, LakeIOError | LakeDiskFull>
    readonly listFiles: (table: string) => Effect.Effect<ReadonlyArray<LakeFile>, LakeIOError | LakeDiskFull>
    /** Merges small files into large sorted ones with statistics (see README, Compaction). */
    readonly compact: (options: CompactOptions) => Effect.Effect<CompactionReport, LakeIOError | LakeDiskFull>
  }
>()("@shop/lake/Lake") {
  static readonly layer: Layer.Layer<Lake, Config.ConfigError> = Layer.effect(
    Lake,
    Effect.gen(function* () {
      const dataDir = yield* Config.String("DATA_DIR").pipe(Config.withDefault("./data"))
      return yield* makeLake(dataDir)
    }),
  )

  static readonly layerAt = (dir: string, faults: LakeFaults = {}): Layer.Layer<Lake> =>
    Layer.effect(Lake, makeLake(dir, faults))

  /**
   * For specs: a real lake in a fresh temp directory, removed when the layer's scope closes (fresh: each use
   * is a lake of its own, never a memoized one).
   */
  static readonly layerTest: Layer.Layer<Lake> = Layer.fresh(
    Layer.unwrap(scopedTempDir("lake-test-").pipe(Effect.map((dir) => Lake.layerAt(dir)))),
  )
}
