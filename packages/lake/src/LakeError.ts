import { Schema } from "effect"

/** The lake could not be read or written (disk full, permissions, a file vanished). */
export class LakeIOError extends Schema.TaggedError<LakeIOError>()("LakeIOError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {}

/** A batch that overlaps what the commit log already holds for its partition. */
export class LakeOffsetConflict extends Schema.TaggedError<LakeOffsetConflict>()("LakeOffsetConflict", {
  message: Schema.String,
}) {}

/**
 * Rows the Parquet encoder refused (a value its column cannot hold, or a bug): the batch is not written, and
 * the caller routes the records behind these rows elsewhere (the stream processor: to the DLQ) and retries.
 */
export class LakeRowsUnwritable extends Schema.TaggedError<LakeRowsUnwritable>()("LakeRowsUnwritable", {
  message: Schema.String,
  rows: Schema.Array(
    Schema.Struct({ table: Schema.String, row: Schema.Record(Schema.String, Schema.Unknown), reason: Schema.String }),
  ),
}) {}

export type LakeError = LakeIOError | LakeOffsetConflict | LakeRowsUnwritable
