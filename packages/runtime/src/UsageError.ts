import { Schema } from "effect"

/**
 * A refusal to run that is not about the command line (configuration or environment, e.g. a missing secret):
 * printed as is, without a stack trace, exit 1. A wrong flag value is a BadFlag (exit 2).
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String,
}) {}

/**
 * A flag value that cannot work, found by the program's own checks before anything starts (e.g. a port already in
 * use): like effect/cli's own flag errors, one line and exit 2.
 */
export class BadFlag extends Schema.TaggedError<BadFlag>()("BadFlag", {
  message: Schema.String,
}) {}
