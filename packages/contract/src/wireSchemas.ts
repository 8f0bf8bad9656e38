/**
 * Effect Schemas of contract v1 as it travels on the wire (docs/contract/events-v1.md): one per event type,
 * and the union on `event_type`. These check shape and ranges; currency, order invariants and time rules need
 * configuration or the record timestamp and are applied by `validate`.
 */
import { Schema } from "effect"
import { DEVICES, PAGE_TYPES, PAYMENT_METHODS } from "./constants.ts"
import { Money } from "./money.ts"
import { Rfc3339String } from "./timestamp.ts"

const Uuid = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
      expected: "a UUID such as 6f1c0f3e-6d7a-4c55-9d2e-2b1f5d4b3a11",
    }),
  ),
)
const Id64 = Schema.String.pipe(Schema.check(Schema.isBetweenLength(1, 64)))
const NonEmpty = Schema.String.pipe(Schema.check(Schema.isMinLength(1)))
const Quantity = Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 99 })))
const OptionalText = Schema.optionalKey(Schema.NullOr(Schema.String))

export const Context = Schema.Struct({
  device: Schema.Literals(DEVICES),
  country: Schema.String.pipe(
    Schema.check(Schema.isPattern(/^[A-Z]{2}$/, { expected: "an ISO 3166-1 alpha-2 country code in upper case" })),
  ),
  user_agent: OptionalText,
  referrer: OptionalText,
  utm_source: OptionalText,
  utm_medium: OptionalText,
  utm_campaign: OptionalText,
})

const envelope = {
  schema_version: Schema.Literal(1),
  event_id: Uuid,
  event_ts: Rfc3339String,
  anonymous_id: Id64,
  user_id: Schema.NullOr(Schema.String),
  session_id: Id64,
  context: Context,
}

export const PageView = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("page_view"),
  page_type: Schema.Literals(PAGE_TYPES),
  page_url: Schema.String,
  sku: Schema.optionalKey(Schema.NullOr(NonEmpty)),
  category: Schema.NullOr(Schema.String),
}).pipe(
  Schema.check(
    Schema.makeFilter(
      (e: { page_type: string; sku?: string | null }) =>
        e.page_type !== "product" || (typeof e.sku === "string" && e.sku.length > 0)
          ? true
          : { path: ["sku"], issue: "sku is required when page_type is product" },
      { expected: "a sku on a product page view" },
    ),
  ),
)

export const Search = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("search"),
  query: Schema.String.pipe(Schema.check(Schema.isBetweenLength(1, 200))),
  results_count: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0))),
})

export const AddToCart = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("add_to_cart"),
  sku: NonEmpty,
  quantity: Quantity,
  unit_price: Money,
  currency: Schema.String,
})

export const RemoveFromCart = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("remove_from_cart"),
  sku: NonEmpty,
  quantity: Quantity,
})

export const CheckoutStarted = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("checkout_started"),
  cart_value: Money,
  item_count: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
  currency: Schema.String,
})

const OrderLine = Schema.Struct({ sku: NonEmpty, quantity: Quantity, unit_price: Money })

export const OrderPlaced = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("order_placed"),
  order_id: NonEmpty,
  items: Schema.Array(OrderLine).pipe(Schema.check(Schema.isBetweenLength(1, 100))),
  subtotal: Money,
  discount: Money,
  shipping: Money,
  tax: Money,
  total: Money,
  currency: Schema.String,
  payment_method: Schema.Literals(PAYMENT_METHODS),
  coupon: Schema.NullOr(Schema.String),
})

const ReturnLine = Schema.Struct({ sku: NonEmpty, quantity: Quantity })

export const OrderReturned = Schema.Struct({
  ...envelope,
  event_type: Schema.Literal("order_returned"),
  order_id: NonEmpty,
  items: Schema.Array(ReturnLine).pipe(Schema.check(Schema.isBetweenLength(1, 100))),
  refund_amount: Money,
  currency: Schema.String,
  reason: Schema.String,
})

/** Every event of contract v1, discriminated by `event_type`. */
export const WireEvent = Schema.Union([
  PageView,
  Search,
  AddToCart,
  RemoveFromCart,
  CheckoutStarted,
  OrderPlaced,
  OrderReturned,
])

export type WirePageView = typeof PageView.Type
export type WireSearch = typeof Search.Type
export type WireAddToCart = typeof AddToCart.Type
export type WireRemoveFromCart = typeof RemoveFromCart.Type
export type WireCheckoutStarted = typeof CheckoutStarted.Type
export type WireOrderPlaced = typeof OrderPlaced.Type
export type WireOrderReturned = typeof OrderReturned.Type
export type WireEvent = typeof WireEvent.Type

/** The schema of each event type, so a record is decoded against its own type only (clearer first error). */
export const wireSchemaByType = {
  page_view: PageView,
  search: Search,
  add_to_cart: AddToCart,
  remove_from_cart: RemoveFromCart,
  checkout_started: CheckoutStarted,
  order_placed: OrderPlaced,
  order_returned: OrderReturned,
} as const
