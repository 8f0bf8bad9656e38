import { toCents } from "./money.ts"
import { parseRfc3339, utcDate } from "./timestamp.ts"
import type { EventBase, ValidEvent } from "./ValidEvent.ts"
import type { WireEvent } from "./wireSchemas.ts"

/** The typed Silver shape of a wire event that passed its schema. */
export const toValidEvent = (e: WireEvent, eventTsMs?: number): ValidEvent => {
  // The schema already checked event_ts, so the parse cannot fail here (given: the caller parsed it already).
  const ts = eventTsMs ?? (parseRfc3339(e.event_ts) as number)
  const base: EventBase = {
    event_id: e.event_id.toLowerCase(),
    event_ts_ms: ts,
    event_date: utcDate(ts),
    anonymous_id: e.anonymous_id,
    user_id: e.user_id,
    session_id: e.session_id,
    device: e.context.device,
    country: e.context.country,
    user_agent: e.context.user_agent ?? null,
    referrer: e.context.referrer ?? null,
    utm_source: e.context.utm_source ?? null,
    utm_medium: e.context.utm_medium ?? null,
    utm_campaign: e.context.utm_campaign ?? null,
  }
  switch (e.event_type) {
    case "page_view":
      return {
        ...base,
        event_type: e.event_type,
        page_type: e.page_type,
        page_url: e.page_url,
        sku: e.sku ?? null,
        category: e.category,
      }
    case "search":
      return { ...base, event_type: e.event_type, query: e.query, results_count: e.results_count }
    case "add_to_cart":
      return {
        ...base,
        event_type: e.event_type,
        sku: e.sku,
        quantity: e.quantity,
        unit_price_cents: toCents(e.unit_price),
        currency: e.currency,
      }
    case "remove_from_cart":
      return { ...base, event_type: e.event_type, sku: e.sku, quantity: e.quantity }
    case "checkout_started":
      return {
        ...base,
        event_type: e.event_type,
        cart_value_cents: toCents(e.cart_value),
        item_count: e.item_count,
        currency: e.currency,
      }
    case "order_placed":
      return {
        ...base,
        event_type: e.event_type,
        order_id: e.order_id,
        items: e.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unit_price_cents: toCents(i.unit_price) })),
        subtotal_cents: toCents(e.subtotal),
        discount_cents: toCents(e.discount),
        shipping_cents: toCents(e.shipping),
        tax_cents: toCents(e.tax),
        total_cents: toCents(e.total),
        currency: e.currency,
        payment_method: e.payment_method,
        coupon: e.coupon,
      }
    case "order_returned":
      return {
        ...base,
        event_type: e.event_type,
        order_id: e.order_id,
        items: e.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
        refund_amount_cents: toCents(e.refund_amount),
        currency: e.currency,
        reason: e.reason,
      }
  }
}
