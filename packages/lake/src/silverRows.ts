import type { ValidEvent } from "@shop/contract"

export interface Lineage {
  readonly source_partition: number
  readonly source_offset: number
  readonly record_ts: number
  readonly ingested_at: number
}

export type Row = Record<string, unknown>

/** What the stream decides about an event beyond the event itself (the bot rule's state, the shop's trust rule). */
export interface Verdicts {
  readonly bot_reason: string | null
  /** Order events: whether they count in revenue (docs/contract/events-v1.md, "Trusted orders"). */
  readonly trusted: boolean
}

/** The Silver rows of one valid event: its own table's row, plus one row per order or return line. */
export const silverRowsOf = (
  e: ValidEvent,
  lineage: Lineage,
  verdicts: Verdicts = { bot_reason: e.ua_bot === null ? null : "user_agent", trusted: true },
): {
  readonly row: Row
  readonly items: ReadonlyArray<Row>
  readonly itemTable: "order_item" | "return_item" | null
} => {
  const base: Row = {
    event_id: e.event_id,
    event_type: e.event_type,
    event_ts: e.event_ts_ms,
    anonymous_id: e.anonymous_id,
    user_id: e.user_id,
    session_id: e.session_id,
    device: e.device,
    country: e.country,
    user_agent: e.user_agent,
    referrer: e.referrer,
    utm_source: e.utm_source,
    utm_medium: e.utm_medium,
    utm_campaign: e.utm_campaign,
    browser: e.browser,
    os: e.os,
    ua_device: e.ua_device,
    referrer_class: e.referrer_class,
    is_bot: verdicts.bot_reason !== null,
    bot_reason: verdicts.bot_reason,
    ...lineage,
  }
  switch (e.event_type) {
    case "page_view":
      return {
        row: { ...base, page_type: e.page_type, page_url: e.page_url, sku: e.sku, category: e.category },
        items: [],
        itemTable: null,
      }
    case "search":
      return { row: { ...base, query: e.query, results_count: e.results_count }, items: [], itemTable: null }
    case "add_to_cart":
      return {
        row: { ...base, sku: e.sku, quantity: e.quantity, unit_price: e.unit_price_cents, currency: e.currency },
        items: [],
        itemTable: null,
      }
    case "remove_from_cart":
      return { row: { ...base, sku: e.sku, quantity: e.quantity }, items: [], itemTable: null }
    case "checkout_started":
      return {
        row: { ...base, cart_value: e.cart_value_cents, item_count: e.item_count, currency: e.currency },
        items: [],
        itemTable: null,
      }
    case "order_placed":
      return {
        row: {
          ...base,
          order_id: e.order_id,
          line_count: e.items.length,
          units: e.items.reduce((s, i) => s + i.quantity, 0),
          subtotal: e.subtotal_cents,
          discount: e.discount_cents,
          shipping: e.shipping_cents,
          tax: e.tax_cents,
          total: e.total_cents,
          currency: e.currency,
          payment_method: e.payment_method,
          coupon: e.coupon,
          keyed: e.keyed,
          trusted: verdicts.trusted,
        },
        items: e.items.map((i, n) => ({
          event_id: e.event_id,
          order_id: e.order_id,
          line_no: n + 1,
          sku: i.sku,
          quantity: i.quantity,
          unit_price: i.unit_price_cents,
          line_total: i.quantity * i.unit_price_cents,
          event_ts: e.event_ts_ms,
          session_id: e.session_id,
          user_id: e.user_id,
          anonymous_id: e.anonymous_id,
          is_bot: verdicts.bot_reason !== null,
          trusted: verdicts.trusted,
        })),
        itemTable: "order_item",
      }
    case "order_returned":
      return {
        row: {
          ...base,
          order_id: e.order_id,
          line_count: e.items.length,
          units: e.items.reduce((s, i) => s + i.quantity, 0),
          refund_amount: e.refund_amount_cents,
          currency: e.currency,
          reason: e.reason,
          keyed: e.keyed,
          trusted: verdicts.trusted,
        },
        items: e.items.map((i, n) => ({
          event_id: e.event_id,
          order_id: e.order_id,
          line_no: n + 1,
          sku: i.sku,
          quantity: i.quantity,
          event_ts: e.event_ts_ms,
        })),
        itemTable: "return_item",
      }
  }
}
