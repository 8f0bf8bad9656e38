import { CommitLog } from "./CommitLog.ts"
import { lakeLayout } from "./layout.ts"

/** How far a reader has read each commit log: entries read per `<topic>/<partition>`. */
export type CommitProgress = Readonly<Record<string, number>>

/** The Silver days named by batches committed since `since`, and the progress to give next time. */
export interface ChangedDays {
  readonly days: ReadonlyArray<string>
  readonly next: CommitProgress
}

/**
 * The days whose Silver changed since `since`, read from the commit logs (read-only: the stream processor owns
 * them). A late event names its own, older day here. Compaction does not touch the commit logs, so a merge of
 * small files changes no day.
 */
export const changedDays = (root: string, since: CommitProgress): ChangedDays => {
  const days = new Set<string>()
  const next: Record<string, number> = { ...since }
  for (const { topic, partition, path } of lakeLayout.commitLogs(root)) {
    const key = `${topic}/${partition}`
    const entries = new CommitLog(path, true).all
    for (const entry of entries.slice(since[key] ?? 0)) {
      for (const f of entry.files) if (f.table.startsWith("silver/")) days.add(f.date)
    }
    next[key] = entries.length
  }
  return { days: [...days].sort(), next }
}
