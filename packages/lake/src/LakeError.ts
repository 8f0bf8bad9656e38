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

export type LakeError = LakeIOError | LakeOffsetConflict
