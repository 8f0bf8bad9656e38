/** The SQL the dashboard runs on its in-memory DuckDB: only the columns it folds, money as integer cents. */
import { EVENT_TYPES } from "@shop/contract"
import { sqlString } from "@shop/warehouse"

/** A relation over Parquet files (all of one table, so of one physical schema). */
export const filesRel = (paths: ReadonlyArray<string>) => `read_parquet([${paths.map(sqlString).join(", ")}])`

/** Silver event tables whose rows count as events of a session: one per event type of the contract. */
export const EVENT_TABLES = EVENT_TYPES

export const eventRowsSql = (table: string, from: string) =>
  table === "page_view"
    ? `select session_id, epoch_ms(event_ts)::DOUBLE as ts, is_bot is true as bot, page_type, sku from ${from}`
    : `select session_id, epoch_ms(event_ts)::DOUBLE as ts, is_bot is true as bot from ${from}`

export const orderRowsSql = (from: string) => `
  select is_bot is true as bot, (is_bot is not true and trusted is not false) as counted,
         order_id, session_id, user_id, epoch_ms(event_ts)::DOUBLE as ts, epoch_ms(record_ts)::DOUBLE as record_ts,
         units, line_count, ((subtotal - discount) * 100)::INTEGER as net_cents, (total * 100)::INTEGER as total_cents,
         payment_method, country, device
  from ${from}`

export const orderItemRowsSql = (from: string) => `
  select sku, epoch_ms(event_ts)::DOUBLE as ts, quantity, (line_total * 100)::INTEGER as line_total_cents
  from ${from} where is_bot is not true and trusted is not false`

export const dlqRowsSql = (from: string) => `
  select error_code, error_message, source_partition, source_offset::DOUBLE as source_offset,
         epoch_ms(source_ts)::DOUBLE as source_ts
  from ${from}`

/** The gold minute rollup for `[from, to]`, money as cents. */
export const goldMinutesSql = (path: string, from: number, to: number) => `
  select epoch_ms(minute)::DOUBLE as minute, events::DOUBLE as events, page_views::DOUBLE as page_views,
         active_sessions::DOUBLE as active_sessions, add_to_carts::DOUBLE as add_to_carts, checkouts::DOUBLE as checkouts,
         orders::DOUBLE as orders, units::DOUBLE as units, (net_revenue * 100)::DOUBLE as net_cents,
         dlq_records::DOUBLE as dlq, bot_events::DOUBLE as bots
  from read_parquet(${sqlString(path)}, union_by_name = true)
  where minute >= epoch_ms(${from}::BIGINT) and minute <= epoch_ms(${to}::BIGINT)`

export const goldTopProductsSql = (path: string) => `
  select ranking, window_minutes, rank, sku, views::DOUBLE as views, (revenue * 100)::DOUBLE as revenue_cents,
         units::DOUBLE as units
  from read_parquet(${sqlString(path)}) order by ranking, window_minutes, rank`

export const goldDaySql = (path: string) => `select * from read_parquet(${sqlString(path)})`

export const catalogSql = (path: string) =>
  `select sku, name, category from read_csv(${sqlString(path)}, header = true)`
