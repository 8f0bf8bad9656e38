import { existsSync } from "node:fs"
import { join } from "node:path"
import type { WriteFn } from "@shop/fsio"
import { ChecksummedLog } from "./ChecksummedLog.ts"
import { type CommitEntry, CommitLog, type CommittedFile } from "./CommitLog.ts"
import { lakeLayout } from "./layout.ts"

/** A file of a table as readers should see it: a micro-batch file or a compacted one. */
export interface LakeFile extends CommittedFile {
  /** Source partitions whose rows it holds, as `<topic>-<partition>` (one for a micro-batch file). */
  readonly sources: ReadonlyArray<string>
  /** Newest broker record timestamp of the batches it holds (epoch ms). */
  readonly maxRecordTs: number
}

/**
 * One compaction of one table-day: `replaced` (paths) became `outputs`. Appending it to the table's compaction
 * log commits it; it takes effect for readers when the day's directory is exchanged with the staging directory
 * `_lake/staging/<table>/<id>` holding the outputs (see README, Compaction).
 */
export interface CompactionEntry {
  readonly id: string
  readonly table: string
  readonly date: string
  readonly replaced: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<LakeFile>
  readonly committedAt: string
}

export const { compactionLogPath, stagingRoot, dayDir } = lakeLayout

export const readCompactionLog = (
  root: string,
  table: string,
  readOnly = true,
  options: { readonly write?: WriteFn } = {},
) => new ChecksummedLog<CompactionEntry>(compactionLogPath(root, table), readOnly, options)

/**
 * Whether each entry is in effect. Only the last compaction of a day can be waiting for its directory exchange
 * (the next compaction of that day first finishes it), and it is in effect once its first output is in the day's
 * directory: so the directory exchange is the one moment both glob readers and `listFiles` switch sets.
 */
export const entriesInEffect = (root: string, entries: ReadonlyArray<CompactionEntry>) => {
  const last = new Map<string, CompactionEntry>()
  for (const e of entries) last.set(e.date, e)
  return entries.map((e) => ({
    entry: e,
    inEffect: last.get(e.date) !== e || existsSync(join(root, e.outputs[0]!.path)),
  }))
}

/** Every source partition's commit log, read fresh (read-only). */
export const readCommitLogs = (root: string): Array<{ source: string; entries: ReadonlyArray<CommitEntry> }> =>
  lakeLayout
    .commitLogs(root)
    .map(({ topic, partition, path }) => ({ source: `${topic}-${partition}`, entries: new CommitLog(path, true).all }))

/**
 * The files of a table: every committed micro-batch file, minus what compactions in effect replaced, plus
 * what they wrote. In order: micro-batch files by source and offset, then compacted files.
 */
export const tableView = (
  root: string,
  table: string,
  logs: ReadonlyArray<{ source: string; entries: ReadonlyArray<CommitEntry> }>,
  compactions: ReadonlyArray<CompactionEntry> = readCompactionLog(root, table).all,
): Array<LakeFile> => {
  const files = new Map<string, LakeFile>()
  for (const { source, entries } of logs) {
    for (const entry of entries) {
      for (const f of entry.files) {
        if (f.table === table) files.set(f.path, { ...f, sources: [source], maxRecordTs: entry.maxRecordTs })
      }
    }
  }
  for (const { entry, inEffect } of entriesInEffect(root, compactions)) {
    if (!inEffect) continue
    for (const p of entry.replaced) files.delete(p)
    for (const f of entry.outputs) files.set(f.path, f)
  }
  return [...files.values()]
}

/**
 * The files that hold the rows of `paths` (root-relative files a commit listed) now: each one still in place
 * is itself; one a compaction replaced is followed through the table's compaction log to the outputs in place
 * today (an output may itself have been compacted again). Those outputs hold other batches' rows too: read
 * them filtered by the batch's lineage (source partition and offsets). Call it holding the table's shared swap
 * lock (`withTablesReadLocked`), so no swap changes the answer before the files are read. A path no log entry
 * accounts for is returned in `lost` (only after a crash before a compaction's exchange rolled forward).
 */
export const filesNowHolding = (
  root: string,
  table: string,
  paths: ReadonlyArray<string>,
): { readonly inPlace: Array<string>; readonly successors: Array<string>; readonly lost: Array<string> } => {
  const inPlace: Array<string> = []
  const gone = paths.filter((p) => {
    if (!existsSync(join(root, p))) return true
    inPlace.push(p)
    return false
  })
  if (gone.length === 0) return { inPlace, successors: [], lost: [] }
  const replacedBy = new Map<string, CompactionEntry>()
  for (const e of readCompactionLog(root, table).all) for (const p of e.replaced) replacedBy.set(p, e)
  const successors = new Set<string>()
  const lost: Array<string> = []
  for (const p of gone) {
    let found = false
    const seen = new Set<string>()
    const follow = (path: string): void => {
      if (seen.has(path)) return
      seen.add(path)
      if (path !== p && existsSync(join(root, path))) {
        successors.add(path)
        found = true
        return
      }
      for (const o of replacedBy.get(path)?.outputs ?? []) follow(o.path)
    }
    follow(p)
    if (!found) lost.push(p)
  }
  return { inPlace, successors: [...successors], lost }
}
