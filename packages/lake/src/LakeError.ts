import { DISK_FULL_CODES, errnoCode, FsWriteError } from "@shop/fsio"
import { Schema } from "effect"

/** The lake could not be read or written (permissions, a file vanished, EIO). `code`: the errno name if any. */
export class LakeIOError extends Schema.TaggedError<LakeIOError>()("LakeIOError", {
  message: Schema.String,
  code: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect()),
}) {}

/**
 * The disk under the lake is full (ENOSPC, EDQUOT) and a write did not fully happen, so nothing was committed.
 * The message is one line: what failed, what to do, and what was not committed.
 */
export class LakeDiskFull extends Schema.TaggedError<LakeDiskFull>()("LakeDiskFull", {
  message: Schema.String,
  code: Schema.String,
  path: Schema.String,
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

export type LakeError = LakeIOError | LakeDiskFull | LakeOffsetConflict | LakeRowsUnwritable
/**
 * The typed error for a failed lake operation. A failed write (FsWriteError) keeps its errno: a full disk
 * becomes LakeDiskFull, "<summary>: free space under <root>, then restart; <consequence>"; EIO and short files
 * become LakeIOError with the same shape. Anything else: "<what>: <cause>".
 */
export const lakeError = (
  what: string,
  cause: unknown,
  context: { readonly root?: string; readonly consequence?: string } = {},
): LakeIOError | LakeDiskFull => {
  const code = errnoCode(cause)
  const tail = context.consequence === undefined ? "" : `; ${context.consequence}`
  if (cause instanceof FsWriteError) {
    if (DISK_FULL_CODES.has(cause.code)) {
      const where = context.root === undefined ? "on that disk" : `under ${context.root}`
      return new LakeDiskFull({
        message: `${cause.summary}: free space ${where}, then restart${tail}`,
        code: cause.code,
        path: cause.path,
        cause,
      })
    }
    const advice =
      cause.code === "EIO"
        ? "the disk is failing (see dmesg): fix or replace it, then restart"
        : cause.code === "ESHORT"
          ? `${cause.detail}: check the disk, then restart`
          : `${cause.detail}: check the disk and permissions, then restart`
    return new LakeIOError({ message: `${cause.summary}: ${advice}${tail}`, code: cause.code, path: cause.path, cause })
  }
  const detail = cause instanceof Error ? cause.message : String(cause)
  if (code !== undefined && DISK_FULL_CODES.has(code)) {
    return new LakeDiskFull({
      message: `disk full ${what} (${code}): free space ${context.root === undefined ? "on that disk" : `under ${context.root}`}, then restart${tail}`,
      code,
      path: (cause as { path?: string }).path ?? context.root ?? "",
      cause,
    })
  }
  return new LakeIOError({
    message: `${what}: ${detail}${tail}`,
    ...(code === undefined ? {} : { code }),
    cause,
  })
}
