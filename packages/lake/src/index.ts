// The lake's public face: the Lake service and its errors, the table schemas, and the few readers other
// packages need. Internal modules (the checksummed log, locks, compaction's steps, Parquet decoding) stay inside.
export { type BatchCounts, type CommitEntry, CommitLog, type CommittedFile } from "./CommitLog.ts"
export { CommitLogTail, type TailedEntry } from "./CommitLogTail.ts"
export {
  type CompactionPoint,
  type CompactionReport,
  type CompactOptions,
  compactLake,
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
export { lakeLayout } from "./layout.ts"
export { encodeParquet } from "./parquetFile.ts"
export { type Row, silverRowsOf, type Verdicts } from "./silverRows.ts"
export { withTablesReadLocked } from "./TableLock.ts"
export type { Column, ColumnType, TableSchema } from "./TableSchema.ts"
export * from "./tables.ts"
export { filesNowHolding, type LakeFile, readCommitLogs, tableView } from "./tableView.ts"
