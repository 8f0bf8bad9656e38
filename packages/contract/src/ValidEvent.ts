/**
 * An event that passed every rule of contract v1, in the shape Silver stores. Field names are the contract's,
 * except money, which is integer cents in fields named `*_cents` so nobody mistakes cents for dollars.
 * Derived: `event_id` in lower case (the dedup key: UUIDs are case-insensitive), `event_ts_ms` (epoch ms),
 * `event_date` (UTC date of `event_ts`). Optional context strings are `null` when absent.
 * Enrichment (derived from the event alone): `browser`, `os`, `ua_device` and `ua_bot` from the user agent,
 * `referrer_class` from referrer and utm; `keyed` is the collector's `ingest.keyed` (null when the record did
 * not come through the collector).
 */
import type { Device, PageType, PaymentMethod } from "./constants.ts"
import type { Cents } from "./money.ts"
import type { ReferrerClass } from "./referrerClass.ts"

export interface EventBase {
  readonly event_id: string
  readonly event_ts_ms: number
  readonly event_date: string
  readonly anonymous_id: string
  readonly user_id: string | null
  readonly session_id: string
  readonly device: Device
  readonly country: string
  readonly user_agent: string | null
  readonly referrer: string | null
  readonly utm_source: string | null
  readonly utm_medium: string | null
  readonly utm_campaign: string | null
  readonly browser: string | null
  readonly os: string | null
  readonly ua_device: string | null
  /** The isbot pattern the user agent matched, or null. */
  readonly ua_bot: string | null
  readonly referrer_class: ReferrerClass
  readonly keyed: boolean | null
}

export interface PageViewEvent extends EventBase {
  readonly event_type: "page_view"
  readonly page_type: PageType
  readonly page_url: string
  readonly sku: string | null
  readonly category: string | null
}

export interface SearchEvent extends EventBase {
  readonly event_type: "search"
  readonly query: string
  readonly results_count: number
}

export interface AddToCartEvent extends EventBase {
  readonly event_type: "add_to_cart"
  readonly sku: string
  readonly quantity: number
  readonly unit_price_cents: Cents
  readonly currency: string
}

export interface RemoveFromCartEvent extends EventBase {
  readonly event_type: "remove_from_cart"
  readonly sku: string
  readonly quantity: number
}

export interface CheckoutStartedEvent extends EventBase {
  readonly event_type: "checkout_started"
  readonly cart_value_cents: Cents
  readonly item_count: number
  readonly currency: string
}

export interface OrderLine {
  readonly sku: string
  readonly quantity: number
  readonly unit_price_cents: Cents
}

export interface OrderPlacedEvent extends EventBase {
  readonly event_type: "order_placed"
  readonly order_id: string
  readonly items: ReadonlyArray<OrderLine>
  readonly subtotal_cents: Cents
  readonly discount_cents: Cents
  readonly shipping_cents: Cents
  readonly tax_cents: Cents
  readonly total_cents: Cents
  readonly currency: string
  readonly payment_method: PaymentMethod
  readonly coupon: string | null
}

export interface ReturnLine {
  readonly sku: string
  readonly quantity: number
}

export interface OrderReturnedEvent extends EventBase {
  readonly event_type: "order_returned"
  readonly order_id: string
  readonly items: ReadonlyArray<ReturnLine>
  readonly refund_amount_cents: Cents
  readonly currency: string
  readonly reason: string
}

export type ValidEvent =
  | PageViewEvent
  | SearchEvent
  | AddToCartEvent
  | RemoveFromCartEvent
  | CheckoutStartedEvent
  | OrderPlacedEvent
  | OrderReturnedEvent
