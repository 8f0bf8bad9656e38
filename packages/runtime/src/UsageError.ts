import { Schema } from "effect"

/** A flag or argument a person got wrong: printed as is, without a stack trace. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String,
}) {}
