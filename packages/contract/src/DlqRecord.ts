import { Schema } from "effect"
import { DLQ_CODES } from "./constants.ts"
import type { DlqError } from "./DlqError.ts"

/** A record of `events.dlq`, as the contract defines it (plus `payload_base64` when the payload is not UTF-8). */
export const DlqRecord = Schema.Struct({
  error: Schema.Struct({
    code: Schema.Literals(DLQ_CODES),
    message: Schema.String,
    path: Schema.NullOr(Schema.String),
  }),
  source: Schema.Struct({
    topic: Schema.String,
    partition: Schema.Int,
    offset: Schema.Int,
    timestamp: Schema.String,
  }),
  payload: Schema.String,
  payload_base64: Schema.optionalKey(Schema.String),
  failed_at: Schema.String,
})
export type DlqRecord = typeof DlqRecord.Type

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true })

export interface DlqSource {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** Record timestamp, epoch ms. */
  readonly timestamp: number
}

/**
 * The DLQ record of a rejected record. The payload is the original value as a string; when the bytes are not
 * valid UTF-8 no string can hold them exactly, so `payload_base64` carries the bytes too and nothing is lost.
 */
export const makeDlqRecord = (input: {
  readonly error: DlqError
  readonly source: DlqSource
  readonly payload: Uint8Array | string
  readonly failedAt: number
}): DlqRecord => {
  const { error, source, payload } = input
  let text: string
  let base64: string | undefined
  if (typeof payload === "string") {
    text = payload
  } else {
    try {
      text = strictUtf8.decode(payload)
    } catch {
      text = lenientUtf8.decode(payload)
      base64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64")
    }
  }
  return {
    error: { code: error.code, message: error.message, path: error.path },
    source: {
      topic: source.topic,
      partition: source.partition,
      offset: source.offset,
      timestamp: new Date(source.timestamp).toISOString(),
    },
    payload: text,
    ...(base64 === undefined ? {} : { payload_base64: base64 }),
    failed_at: new Date(input.failedAt).toISOString(),
  }
}
