/** The lake's tables: Bronze (every record as it came, and the DLQ) and Silver (one table per event type). */
import { col, type TableSchema, uniqueCol } from "./TableSchema.ts"

/** Where each Silver row came from, so any number can be traced back to its broker record. */
const lineage = [
  col("source_partition", "int32"),
  uniqueCol("source_offset", "int64"),
  col("record_ts", "timestamp_ms"),
  col("ingested_at", "timestamp_ms"),
]

const envelope = [
  uniqueCol("event_id", "string"),
  col("event_type", "string"),
  col("event_ts", "timestamp_ms"),
  col("anonymous_id", "string"),
  col("user_id", "string", true),
  col("session_id", "string"),
  col("device", "string"),
  col("country", "string"),
  col("user_agent", "string", true),
  col("referrer", "string", true),
  col("utm_source", "string", true),
  col("utm_medium", "string", true),
  col("utm_campaign", "string", true),
  // Enrichment (docs/contract/events-v1.md, "Enrichment" and "Bots"): from the user agent and the referrer.
  col("browser", "string", true),
  col("os", "string", true),
  col("ua_device", "string", true),
  col("referrer_class", "string"),
  col("is_bot", "bool"),
  col("bot_reason", "string", true),
]

/** Order events: `keyed` as the collector marked the record (null: not through the collector), and the verdict. */
const trust = [col("keyed", "bool", true), col("trusted", "bool")]

const silver = (name: string, columns: TableSchema["columns"]): TableSchema => ({
  name: `silver/${name}`,
  columns: [...envelope, ...columns, ...lineage],
  sortBy: ["event_ts", "event_id"],
})

export const BronzeEvents: TableSchema = {
  name: "bronze/events",
  sortBy: ["record_ts", "partition", "offset"],
  columns: [
    col("topic", "string"),
    col("partition", "int32"),
    uniqueCol("offset", "int64"),
    col("key", "string", true),
    // The value as text; when it is not valid UTF-8 the exact bytes are kept in value_bytes too.
    uniqueCol("value", "string"),
    uniqueCol("value_bytes", "bytes", true),
    col("record_ts", "timestamp_ms"),
    col("ingested_at", "timestamp_ms"),
  ],
}

export const BronzeDlq: TableSchema = {
  name: "bronze/dlq",
  sortBy: ["source_ts", "source_partition", "source_offset"],
  columns: [
    col("error_code", "string"),
    col("error_message", "string"),
    col("error_path", "string", true),
    col("source_topic", "string"),
    col("source_partition", "int32"),
    uniqueCol("source_offset", "int64"),
    col("source_ts", "timestamp_ms"),
    uniqueCol("payload", "string"),
    col("payload_base64", "string", true),
    col("failed_at", "timestamp_ms"),
  ],
}

export const SilverPageView = silver("page_view", [
  col("page_type", "string"),
  col("page_url", "string"),
  col("sku", "string", true),
  col("category", "string", true),
])
export const SilverSearch = silver("search", [col("query", "string"), col("results_count", "int64")])
export const SilverAddToCart = silver("add_to_cart", [
  col("sku", "string"),
  col("quantity", "int32"),
  col("unit_price", "money_cents"),
  col("currency", "string"),
])
export const SilverRemoveFromCart = silver("remove_from_cart", [col("sku", "string"), col("quantity", "int32")])
export const SilverCheckoutStarted = silver("checkout_started", [
  col("cart_value", "money_cents"),
  col("item_count", "int64"),
  col("currency", "string"),
])
export const SilverOrderPlaced = silver("order_placed", [
  col("order_id", "string"),
  col("line_count", "int32"),
  col("units", "int32"),
  col("subtotal", "money_cents"),
  col("discount", "money_cents"),
  col("shipping", "money_cents"),
  col("tax", "money_cents"),
  col("total", "money_cents"),
  col("currency", "string"),
  col("payment_method", "string"),
  col("coupon", "string", true),
  ...trust,
])
export const SilverOrderReturned = silver("order_returned", [
  col("order_id", "string"),
  col("line_count", "int32"),
  col("units", "int32"),
  col("refund_amount", "money_cents"),
  col("currency", "string"),
  col("reason", "string"),
  ...trust,
])
export const SilverOrderItem: TableSchema = {
  name: "silver/order_item",
  sortBy: ["event_ts", "event_id", "line_no"],
  columns: [
    col("event_id", "string"),
    col("order_id", "string"),
    col("line_no", "int32"),
    col("sku", "string"),
    col("quantity", "int32"),
    col("unit_price", "money_cents"),
    col("line_total", "money_cents"),
    col("event_ts", "timestamp_ms"),
    col("session_id", "string"),
    col("user_id", "string", true),
    col("anonymous_id", "string"),
    // The order's verdicts, so revenue by line needs no join (contract "Bots", "Trusted orders").
    col("is_bot", "bool"),
    col("trusted", "bool"),
  ],
}
export const SilverReturnItem: TableSchema = {
  name: "silver/return_item",
  sortBy: ["event_ts", "event_id", "line_no"],
  columns: [
    col("event_id", "string"),
    col("order_id", "string"),
    col("line_no", "int32"),
    col("sku", "string"),
    col("quantity", "int32"),
    col("event_ts", "timestamp_ms"),
  ],
}

export const SILVER_BY_EVENT_TYPE = {
  page_view: SilverPageView,
  search: SilverSearch,
  add_to_cart: SilverAddToCart,
  remove_from_cart: SilverRemoveFromCart,
  checkout_started: SilverCheckoutStarted,
  order_placed: SilverOrderPlaced,
  order_returned: SilverOrderReturned,
} as const

export const ALL_TABLES: ReadonlyArray<TableSchema> = [
  BronzeEvents,
  BronzeDlq,
  ...Object.values(SILVER_BY_EVENT_TYPE),
  SilverOrderItem,
  SilverReturnItem,
]
