import type { DlqCode } from "./constants.ts"

/** Why a record was rejected: the `error` object of a DLQ record. `path` is dotted (`items.0.quantity`). */
export interface DlqError {
  readonly code: DlqCode
  readonly message: string
  readonly path: string | null
}
