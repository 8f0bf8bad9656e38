import { existsSync } from "node:fs"
import { join } from "node:path"
import { rateKey } from "@shop/contract"
import {
  type BatchCounts,
  type CommitLogTail,
  LakeIOError,
  readCommitLogs,
  SILVER_BY_EVENT_TYPE,
  tableView,
  withTablesReadLocked,
} from "@shop/lake"
import { Effect } from "effect"
import { parquetReadObjects } from "hyparquet"
import type { Deduplicator } from "./Deduplicator.ts"
import type { SessionActivity } from "./SessionActivity.ts"

const EVENT_TABLES = new Set(Object.values(SILVER_BY_EVENT_TYPE).map((t) => t.name))

const msOf = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v))

/** The event_ids of a Silver file, and (session_id, event_ts) for the bot rate rule. */
const readIds = (root: string, path: string) =>
  Effect.tryPromise({
    try: async () =>
      (
        await parquetReadObjects({
          file: await Bun.file(join(root, path)).arrayBuffer(),
          columns: ["event_id", "session_id", "event_ts"],
        })
      ).map((r) => ({ id: r.event_id as string, session: r.session_id as string, ts: msOf(r.event_ts) })),
    catch: (cause) => new LakeIOError({ message: `read ${path}: ${String(cause)}`, cause }),
  })

/** Sums of every batch's counts over all commit logs: the processor's totals, whatever worker wrote them. */
export class LakeTotals {
  records = 0
  duplicates = 0
  readonly silver: Record<string, number> = {}
  readonly dlq: Record<string, number> = {}

  add(c: BatchCounts): void {
    this.records += c.records
    this.duplicates += c.duplicates
    for (const [k, v] of Object.entries(c.silver)) this.silver[k] = (this.silver[k] ?? 0) + v
    for (const [k, v] of Object.entries(c.dlq)) this.dlq[k] = (this.dlq[k] ?? 0) + v
  }

  snapshot(): BatchCounts {
    return { records: this.records, silver: { ...this.silver }, duplicates: this.duplicates, dlq: { ...this.dlq } }
  }
}

/**
 * Keeps a Deduplicator equal to what Silver holds, across every process that writes the lake. Days are loaded
 * from Silver's current files; then `catchUp` follows the commit logs and adds the ids of batches other
 * processes committed for loaded days. Both must run inside the lake's commit lock, so that what they read
 * is the whole of Silver until this process publishes its own batch.
 */
export class SilverIds {
  readonly totals = new LakeTotals()

  constructor(
    private readonly root: string,
    /** The lake's commit logs, followed from here (`Lake.tail`). */
    private readonly tail: CommitLogTail,
    private readonly dedup: Deduplicator,
    private readonly activity: SessionActivity,
  ) {}

  /** Loads the ids of these event dates from every committed Silver file (read-locked against compaction's swap). */
  load(dates: ReadonlyArray<string>) {
    const root = this.root
    const dedup = this.dedup
    const activity = this.activity
    return withTablesReadLocked(
      root,
      EVENT_TABLES,
      Effect.gen(function* () {
        if (dates.length === 0) return 0
        const wanted = new Set(dates)
        const logs = readCommitLogs(root)
        let ids = 0
        for (const d of dates) activity.drop(d)
        for (const table of EVENT_TABLES) {
          for (const file of tableView(root, table, logs)) {
            if (!wanted.has(file.date)) continue
            for (const e of yield* readIds(root, file.path)) {
              dedup.add(e.id, file.date)
              activity.add(file.date, rateKey(e.session, e.ts))
            }
            ids += file.rows
          }
        }
        for (const d of dates) dedup.markLoaded(d)
        return ids
      }),
    )
  }

  /**
   * Reads what was committed since the last call: counts into the totals, and the event_ids of other
   * processes' batches for loaded days (`ownBatch` says which batches this process wrote itself, whose ids it
   * added already). A file compaction merged away meanwhile makes its day load again from the current files.
   */
  catchUp(ownBatch: (topic: string, partition: number) => boolean) {
    const root = this.root
    const dedup = this.dedup
    const activity = this.activity
    const entries = this.tail.poll()
    const self = this
    return Effect.gen(function* () {
      const reload = new Set<string>()
      yield* withTablesReadLocked(
        root,
        EVENT_TABLES,
        Effect.gen(function* () {
          for (const entry of entries) {
            if (entry.counts !== undefined) self.totals.add(entry.counts)
            if (ownBatch(entry.topic, entry.partition)) continue
            for (const f of entry.files) {
              if (!EVENT_TABLES.has(f.table) || !dedup.isLoaded(f.date) || reload.has(f.date)) continue
              if (!existsSync(join(root, f.path))) {
                reload.add(f.date)
                continue
              }
              for (const e of yield* readIds(root, f.path)) {
                dedup.add(e.id, f.date)
                activity.add(f.date, rateKey(e.session, e.ts))
              }
            }
          }
        }),
      )
      if (reload.size > 0) yield* self.load([...reload])
      return entries.length
    })
  }
}
