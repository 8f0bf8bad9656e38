/** Business constants of event contract v1 (docs/contract/events-v1.md). */

export const SCHEMA_VERSION = 1
export const TOPIC_RAW = "events.raw"
export const TOPIC_DLQ = "events.dlq"

/** A record value larger than this goes to the DLQ as `too_large`. */
export const MAX_RECORD_BYTES = 64 * 1024
/** The HTTP collector refuses (413) a request carrying more events than this; senders split their batches. */
export const MAX_EVENTS_PER_REQUEST = 500
/** `event_ts` may run ahead of the broker's record timestamp by this much (client clocks drift). */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000
/** Default `MAX_LATENESS`: older events (relative to the record timestamp) go to the DLQ as `too_late`. */
export const DEFAULT_MAX_LATENESS_MS = 30 * 24 * 60 * 60 * 1000
export const DEFAULT_CURRENCY = "USD"

export const EVENT_TYPES = [
  "page_view",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "checkout_started",
  "order_placed",
  "order_returned",
] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const DLQ_CODES = [
  "invalid_json",
  "too_large",
  "schema_violation",
  "unknown_event_type",
  "unsupported_schema_version",
  "unsupported_currency",
  "invariant_violation",
  "future_timestamp",
  "too_late",
] as const
export type DlqCode = (typeof DLQ_CODES)[number]

export const DEVICES = ["desktop", "mobile", "tablet"] as const
export type Device = (typeof DEVICES)[number]

export const PAGE_TYPES = [
  "home",
  "category",
  "product",
  "search",
  "cart",
  "checkout",
  "confirmation",
  "other",
] as const
export type PageType = (typeof PAGE_TYPES)[number]

export const PAYMENT_METHODS = ["card", "paypal", "apple_pay", "gift_card", "other"] as const
export type PaymentMethod = (typeof PAYMENT_METHODS)[number]
