/** Hand-written contract v1 records, as an outside check would write them. */
export const RECORD_TS = Date.parse("2026-11-24T17:03:12.400Z")

const envelope = {
  schema_version: 1,
  event_id: "6f1c0f3e-6d7a-4c55-9d2e-2b1f5d4b3a11",
  event_ts: "2026-11-24T17:03:12.345Z",
  anonymous_id: "anon-1",
  user_id: null,
  session_id: "sess-1",
  context: { device: "desktop", country: "US" },
}

export const samples = {
  page_view: {
    ...envelope,
    event_type: "page_view",
    page_type: "product",
    page_url: "/p/SKU-1",
    sku: "SKU-1",
    category: "shoes",
  },
  search: { ...envelope, event_type: "search", query: "red shoes", results_count: 12 },
  add_to_cart: {
    ...envelope,
    event_type: "add_to_cart",
    sku: "SKU-1",
    quantity: 2,
    unit_price: 19.99,
    currency: "USD",
  },
  remove_from_cart: { ...envelope, event_type: "remove_from_cart", sku: "SKU-1", quantity: 1 },
  checkout_started: { ...envelope, event_type: "checkout_started", cart_value: 39.98, item_count: 2, currency: "USD" },
  order_placed: {
    ...envelope,
    event_type: "order_placed",
    order_id: "ord-1",
    items: [
      { sku: "SKU-1", quantity: 2, unit_price: 19.99 },
      { sku: "SKU-2", quantity: 1, unit_price: 0.1 },
    ],
    subtotal: 40.08,
    discount: 5,
    shipping: 4.99,
    tax: 3.21,
    total: 43.28,
    currency: "USD",
    payment_method: "card",
    coupon: "WELCOME5",
  },
  order_returned: {
    ...envelope,
    event_type: "order_returned",
    order_id: "ord-1",
    items: [{ sku: "SKU-1", quantity: 1 }],
    refund_amount: 19.99,
    currency: "USD",
    reason: "too small",
  },
} as const

export const line = (o: unknown): string => JSON.stringify(o)
