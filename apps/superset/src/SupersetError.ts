import { Schema } from "effect"

/** A Superset set-up step (venv, migration, admin, import, server start) failed. */
export class SupersetError extends Schema.TaggedError<SupersetError>()("SupersetError", {
  step: Schema.String,
  message: Schema.String,
}) {}
