// The lake's public face: the Lake service (commits, tailing, changed days, compaction) and its errors, the
// path layout, the table schemas, and the few readers other packages need. Internal modules (the checksummed
// log, the commit-log reader, locks, compaction's plan/merge/swap, Parquet decoding) stay inside; the lake's
// own specs import them directly.

export type { BatchCounts, CommitEntry, CommittedFile } from "./CommitLog.ts"
export type { CommitLogTail, TailedEntry } from "./CommitLogTail.ts"
export type { ChangedDays, CommitProgress } from "./changedDays.ts"
export {
  type CompactionReport,
  type CompactOptions,
  DEFAULT_OPEN_DAY_MIN_FILES,
  DEFAULT_TARGET_ROWS,
} from "./compaction.ts"
export {
  batchFileName,
  Lake,
  type LakeBatch,
  type LakeFaults,
  type RecoveryReport,
  type StagedBatch,
  type TableBatch,
} from "./Lake.ts"
export {
  LakeDiskFull,
  type LakeError,
  LakeIOError,
  LakeOffsetConflict,
  LakeRowsUnwritable,
  lakeError,
} from "./LakeError.ts"
export { type CommitLogFile, lakeLayout } from "./layout.ts"
export { encodeParquet } from "./parquetFile.ts"
export { type Row, silverRowsOf, type Verdicts } from "./silverRows.ts"
export { withTablesReadLocked } from "./TableLock.ts"
export type { Column, ColumnType, TableSchema } from "./TableSchema.ts"
export * from "./tables.ts"
export { filesNowHolding, type LakeFile, readCommitLogs, tableView } from "./tableView.ts"
