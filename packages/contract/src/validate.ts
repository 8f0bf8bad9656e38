import { Result, Schema } from "effect"
import {
  DEFAULT_CURRENCY,
  DEFAULT_MAX_LATENESS_MS,
  type DlqCode,
  EVENT_TYPES,
  type EventType,
  FUTURE_TOLERANCE_MS,
  MAX_RECORD_BYTES,
  SCHEMA_VERSION,
} from "./constants.ts"
import type { DlqError } from "./DlqError.ts"
import { fastWireCheck } from "./fastPath.ts"
import { fromCents } from "./money.ts"
import { describeSchemaError } from "./schemaIssue.ts"
import { toValidEvent } from "./toValidEvent.ts"
import type { ValidEvent } from "./ValidEvent.ts"
import { type WireEvent, wireSchemaByType } from "./wireSchemas.ts"

export interface RawRecord {
  /** The record value exactly as it came from the broker. */
  readonly value: Uint8Array | string
  /** The broker's record timestamp (Kafka CreateTime), epoch ms: time rules are judged against it. */
  readonly timestamp: number
}

export interface ValidateOptions {
  /** The shop's currency (default USD). */
  readonly currency?: string
  /** `MAX_LATENESS` (default 30 days). */
  readonly maxLatenessMs?: number
  /**
   * Skip the fast path (fastPath.ts) and decode every record with the Effect Schema (default false). The
   * verdicts are the same either way; specs use it to check that they are.
   */
  readonly schemaOnly?: boolean
}

export type Validation =
  | { readonly ok: true; readonly event: ValidEvent }
  | { readonly ok: false; readonly error: DlqError }

// Decoders are compiled once: validate runs for every record of the stream.
const decoders: Record<EventType, (u: unknown) => Result.Result<WireEvent, Schema.SchemaError>> = {
  page_view: Schema.decodeUnknownResult(wireSchemaByType.page_view),
  search: Schema.decodeUnknownResult(wireSchemaByType.search),
  add_to_cart: Schema.decodeUnknownResult(wireSchemaByType.add_to_cart),
  remove_from_cart: Schema.decodeUnknownResult(wireSchemaByType.remove_from_cart),
  checkout_started: Schema.decodeUnknownResult(wireSchemaByType.checkout_started),
  order_placed: Schema.decodeUnknownResult(wireSchemaByType.order_placed),
  order_returned: Schema.decodeUnknownResult(wireSchemaByType.order_returned),
}

// ignoreBOM: a leading BOM stays in the text, so sizes and Bronze see the exact bytes; parsing skips it below.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const knownTypes = new Set<string>(EVENT_TYPES)

const reject = (code: DlqCode, message: string, path: string | null = null): Validation => ({
  ok: false,
  error: { code, message, path },
})

const kindOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)

const money = (cents: number): string => fromCents(cents).toFixed(2)

/**
 * Judges one record of `events.raw` against contract v1. Checks run in a fixed order so each rejected record
 * gets exactly one code: size, JSON, schema_version, event_type, the type's schema, currency, order
 * invariants, then time against the record timestamp.
 */
export const validate = (record: RawRecord, options: ValidateOptions = {}): Validation => {
  const { value } = record
  const size = typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.byteLength
  if (size > MAX_RECORD_BYTES) {
    return reject("too_large", `record is ${size} bytes; the limit is ${MAX_RECORD_BYTES} bytes`)
  }

  let text: string
  try {
    text = typeof value === "string" ? value : utf8.decode(value)
  } catch {
    return reject("invalid_json", "record is not valid UTF-8")
  }
  let json: unknown
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e)
    return reject("invalid_json", text.trim() === "" ? "record is empty" : `record is not valid JSON: ${detail}`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return reject("schema_violation", `expected a JSON object, got ${kindOf(json)}`)
  }
  const obj = json as Record<string, unknown>

  const version = obj.schema_version
  if (!Number.isSafeInteger(version)) {
    return version === undefined
      ? reject("schema_violation", "schema_version: expected the integer 1 but the field is missing", "schema_version")
      : reject(
          "schema_violation",
          `schema_version: expected an integer, got ${JSON.stringify(version)}`,
          "schema_version",
        )
  }
  if (version !== SCHEMA_VERSION) {
    return reject(
      "unsupported_schema_version",
      `schema_version ${version} is not supported; this pipeline reads version ${SCHEMA_VERSION}`,
      "schema_version",
    )
  }

  const type = obj.event_type
  if (typeof type !== "string") {
    return reject(
      "schema_violation",
      type === undefined
        ? "event_type: expected a string but the field is missing"
        : `event_type: expected a string, got ${JSON.stringify(type)}`,
      "event_type",
    )
  }
  if (!knownTypes.has(type)) {
    return reject(
      "unknown_event_type",
      `event_type ${JSON.stringify(type.slice(0, 100))} is not one of ${EVENT_TYPES.join(", ")}`,
      "event_type",
    )
  }

  // The common case answered without the schema; anything it is not sure of goes to the schema, which
  // also words every error.
  const fastTs = options.schemaOnly === true ? undefined : fastWireCheck(type as EventType, obj)
  let event: ValidEvent
  if (fastTs !== undefined) {
    event = toValidEvent(obj as unknown as WireEvent, fastTs, obj)
  } else {
    const decoded = decoders[type as EventType](obj)
    if (Result.isFailure(decoded)) {
      const { path, message } = describeSchemaError(decoded.failure, obj)
      return reject("schema_violation", message, path)
    }
    event = toValidEvent(decoded.success, undefined, obj)
  }

  const currency = options.currency ?? DEFAULT_CURRENCY
  if ("currency" in event && event.currency !== currency) {
    return reject(
      "unsupported_currency",
      `currency ${JSON.stringify(event.currency)} is not the shop's currency ${currency}`,
      "currency",
    )
  }

  if (event.event_type === "order_placed") {
    const lines = event.items.reduce((sum, i) => sum + i.quantity * i.unit_price_cents, 0)
    if (lines !== event.subtotal_cents) {
      return reject(
        "invariant_violation",
        `subtotal ${money(event.subtotal_cents)} is not the sum of quantity * unit_price over items (${money(lines)})`,
        "subtotal",
      )
    }
    const total = event.subtotal_cents - event.discount_cents + event.shipping_cents + event.tax_cents
    if (total !== event.total_cents) {
      return reject(
        "invariant_violation",
        `total ${money(event.total_cents)} is not subtotal - discount + shipping + tax (${money(total)})`,
        "total",
      )
    }
  }

  const ahead = event.event_ts_ms - record.timestamp
  if (ahead > FUTURE_TOLERANCE_MS) {
    return reject(
      "future_timestamp",
      `event_ts is ${Math.round(ahead / 1000)} s after the record timestamp ${new Date(record.timestamp).toISOString()} (at most 300 s allowed)`,
      "event_ts",
    )
  }
  const maxLateness = options.maxLatenessMs ?? DEFAULT_MAX_LATENESS_MS
  if (-ahead > maxLateness) {
    return reject(
      "too_late",
      `event_ts is ${(-ahead / 86_400_000).toFixed(1)} days before the record timestamp ${new Date(record.timestamp).toISOString()} (at most ${(maxLateness / 86_400_000).toFixed(1)} days allowed)`,
      "event_ts",
    )
  }
  return { ok: true, event }
}
