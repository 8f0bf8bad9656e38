import { Schema } from "effect"

/** The lake's commit log resumes a partition below the broker's first retained offset: records were deleted
 *  (retention, a recreated topic) before the lake got them. Starting later would skip them silently. */
export class RecordsLost extends Schema.TaggedError<RecordsLost>()("RecordsLost", {
  topic: Schema.String,
  partition: Schema.Number,
  message: Schema.String,
}) {}

/** `--available-now` with nothing it could catch up on: this member owns no partition, or the broker gave no end
 *  offset for one it owns. Reporting "caught up" then would be a lie. */
export class NotCaughtUp extends Schema.TaggedError<NotCaughtUp>()("NotCaughtUp", {
  message: Schema.String,
}) {}

export type StreamError = RecordsLost | NotCaughtUp
