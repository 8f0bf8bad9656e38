import { DLQ_CODES, type DlqCode } from "@shop/contract"
import type { Random } from "./random.ts"

/** The generator can inject a record for every DLQ code of the contract. */
export const FAULTS = DLQ_CODES
export type Fault = DlqCode

const DAY = 86_400_000

/**
 * Turns a valid event (as a JSON-ready object with its envelope) into a record that breaks exactly one rule,
 * so its expected DLQ code is unambiguous. Returns the record value; `eventTsFor(ms)` formats a timestamp.
 */
export const injectFault = (
  random: Random,
  fault: Fault,
  valid: Record<string, unknown>,
  recordTs: number,
  eventTsFor: (ms: number) => string,
): string => {
  const event: Record<string, unknown> = { ...valid, event_id: random.uuid() }
  switch (fault) {
    case "invalid_json": {
      const text = JSON.stringify(event)
      return text.slice(0, random.int(1, text.length - 2))
    }
    case "too_large":
      return JSON.stringify({ ...event, debug_blob: "x".repeat(70_000 + random.int(0, 10_000)) })
    case "schema_violation": {
      const variant = random.int(0, 3)
      if (variant === 0) return JSON.stringify({ ...event, session_id: "" })
      if (variant === 1) return JSON.stringify({ ...event, event_id: "not-a-uuid" })
      if (variant === 2) return JSON.stringify({ ...event, context: { device: "smart_fridge", country: "US" } })
      const missing = { ...event }
      delete missing.anonymous_id
      return JSON.stringify(missing)
    }
    case "unknown_event_type":
      return JSON.stringify({ ...event, event_type: random.pick(["wishlist_add", "coupon_applied", "PageView"]) })
    case "unsupported_schema_version":
      return JSON.stringify({ ...event, schema_version: random.pick([0, 2, 3]) })
    case "unsupported_currency":
      return JSON.stringify({
        ...event,
        event_type: "add_to_cart",
        sku: "SHO-001",
        quantity: 1,
        unit_price: 19.99,
        currency: random.pick(["EUR", "GBP", "usd"]),
      })
    case "invariant_violation":
      return JSON.stringify({
        ...event,
        event_type: "order_placed",
        order_id: `ord-bad-${random.uuid().slice(0, 8)}`,
        items: [{ sku: "SHO-001", quantity: 2, unit_price: 10 }],
        subtotal: 20,
        discount: 0,
        shipping: 4.99,
        tax: 1.6,
        // Off by one cent: 20 - 0 + 4.99 + 1.60 = 26.59.
        total: 26.6,
        currency: "USD",
        payment_method: "card",
        coupon: null,
      })
    case "future_timestamp":
      return JSON.stringify({ ...event, event_ts: eventTsFor(recordTs + random.int(6 * 60_000, DAY)) })
    case "too_late":
      return JSON.stringify({ ...event, event_ts: eventTsFor(recordTs - random.int(31 * DAY, 90 * DAY)) })
  }
}
