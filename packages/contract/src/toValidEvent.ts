import { toCents } from "./money.ts"
import { referrerClass } from "./referrerClass.ts"
import { parseRfc3339, utcDate } from "./timestamp.ts"
import { userAgentInfo } from "./userAgent.ts"
import type { EventBase, ValidEvent } from "./ValidEvent.ts"
import type { WireEvent } from "./wireSchemas.ts"

/**
 * `ingest.keyed` of the record as it came (the schema does not know the collector's field: it is read
 * leniently, and anything but a boolean counts as absent).
 */
const keyedOf = (raw: Record<string, unknown> | undefined): boolean | null => {
  const ingest = raw?.ingest
  if (typeof ingest !== "object" || ingest === null) return null
  const keyed = (ingest as Record<string, unknown>).keyed
  return typeof keyed === "boolean" ? keyed : null
}

/** The typed Silver shape of a wire event that passed its schema (`raw`: the record's JSON, for `ingest`). */
export const toValidEvent = (e: WireEvent, eventTsMs?: number, raw?: Record<string, unknown>): ValidEvent => {
  // The schema already checked event_ts, so the parse cannot fail here (given: the caller parsed it already).
  const ts = eventTsMs ?? (parseRfc3339(e.event_ts) as number)
  const ua = e.context.user_agent ?? null
  const referrer = e.context.referrer ?? null
  const utmSource = e.context.utm_source ?? null
  const utmMedium = e.context.utm_medium ?? null
  const info = userAgentInfo(ua)
  const base: EventBase = {
    event_id: e.event_id.toLowerCase(),
    event_ts_ms: ts,
    event_date: utcDate(ts),
    anonymous_id: e.anonymous_id,
    user_id: e.user_id,
    session_id: e.session_id,
    device: e.context.device,
    country: e.context.country,
    user_agent: ua,
    referrer,
    utm_source: utmSource,
    utm_medium: utmMedium,
    utm_campaign: e.context.utm_campaign ?? null,
    browser: info.browser,
    os: info.os,
    ua_device: info.device,
    ua_bot: info.botMatch,
    referrer_class: referrerClass(referrer, utmSource, utmMedium),
    keyed: keyedOf(raw ?? (e as unknown as Record<string, unknown>)),
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
