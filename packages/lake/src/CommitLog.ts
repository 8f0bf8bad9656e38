import { ChecksummedLog } from "./ChecksummedLog.ts"

export interface CommittedFile {
  /** e.g. "silver/page_view" */
  readonly table: string
  /** The hive partition value (UTC date). */
  readonly date: string
  /** Path relative to the lake root. */
  readonly path: string
  readonly rows: number
  readonly bytes: number
}

/** What a batch's records became: the totals every metrics view sums from the commit logs. */
export interface BatchCounts {
  readonly records: number
  readonly silver: Readonly<Record<string, number>>
  readonly duplicates: number
  readonly dlq: Readonly<Record<string, number>>
}

export interface CommitEntry {
  readonly from: number
  /** Inclusive. */
  readonly to: number
  readonly files: ReadonlyArray<CommittedFile>
  /** Newest broker record timestamp in the batch (epoch ms): record time, for replays that judge by it. */
  readonly maxRecordTs: number
  readonly committedAt: string
  /** Absent in logs written before counts were kept. */
  readonly counts?: BatchCounts
}

/**
 * The commit log of one source topic-partition: one checksummed JSON line per committed micro-batch, listing
 * every file of every table it wrote. Appending that one line (fdatasync'd) is the moment a batch commits, so
 * a multi-table batch is all-or-nothing. A torn last line (crash mid-append) fails its checksum and is cut.
 */
export class CommitLog extends ChecksummedLog<CommitEntry> {
  /** The next offset to process: one past the last committed batch (0 when nothing is committed). */
  get nextOffset(): number {
    return (this.all.at(-1)?.to ?? -1) + 1
  }
}
