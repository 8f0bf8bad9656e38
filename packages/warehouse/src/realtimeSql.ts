/** "Right now" rollups for the live page: per minute over the last 48 hours, and top products. */
import { COUNTED_ORDER, HUMAN } from "./goldSql.ts"

const ts = (ms: number) => `epoch_ms(${Math.floor(ms)})`

/** Where the minute rollup reads from: Silver itself, or the gold loop's incremental tables (same columns). */
export interface RollupSources {
  /** Rows (session_id, minute, events, page_views, add_to_carts, checkouts) for events in [lo, hi + 1 min). */
  readonly sessionMinutes: (lo: string, hi: string) => string
  /** Rows (minute, orders, units, net_revenue) from `lo` on. */
  readonly orders: (lo: string) => string
  /** Rows (minute, dlq_records) from `lo` on. */
  readonly rejected: (lo: string) => string
  /** Rows (minute, bot_events) from `lo` on. */
  readonly bots: (lo: string) => string
}

/** Silver: one row per event (counts of 1), orders and the DLQ grouped by minute. */
export const SILVER_SOURCES: RollupSources = {
  sessionMinutes: (lo, hi) => `
    select session_id, date_trunc('minute', event_ts) as minute, 1 as events,
           (event_type = 'page_view')::INTEGER as page_views, (event_type = 'add_to_cart')::INTEGER as add_to_carts,
           (event_type = 'checkout_started')::INTEGER as checkouts
    from all_events where event_ts >= ${lo} and event_ts < ${hi} + interval 1 minute`,
  orders: (lo) => `
    select date_trunc('minute', event_ts) as minute, count(*) as orders, sum(units) as units,
           sum(subtotal) - sum(discount) as net_revenue
    from order_placed where ${COUNTED_ORDER} and event_ts >= ${lo} group by 1`,
  rejected: (lo) => `
    select date_trunc('minute', source_ts) as minute, count(*) as dlq_records from dlq where source_ts >= ${lo} group by 1`,
  bots: (lo) => `
    select date_trunc('minute', event_ts) as minute, count(*) as bot_events from bot_events where event_ts >= ${lo} group by 1`,
}

/** Per minute: Silver events, page views, sessions started, active sessions (an event in the last 5 minutes), carts,
 *  checkouts, orders, units, net revenue and DLQ records, for the 48 hours up to `now`. */
export const minuteRollupSql = (now: number, sources: RollupSources = SILVER_SOURCES) => `
  with bounds as (select date_trunc('minute', ${ts(now)}) as hi, date_trunc('minute', ${ts(now)} - interval 48 hour) as lo),
  minutes as (select unnest(generate_series((select lo from bounds), (select hi from bounds), interval 1 minute)) as minute),
  e as (${sources.sessionMinutes("(select lo from bounds) - interval 5 minute", "(select hi from bounds)")}),
  counts as (
    select minute, sum(events) as events, sum(page_views) as page_views, sum(add_to_carts) as add_to_carts,
           sum(checkouts) as checkouts
    from e group by minute),
  starts as (
    select minute, count(*) as sessions_started from (
      select session_id, min(minute) as minute from e group by session_id) group by minute),
  session_minutes as (select distinct session_id, minute from e),
  active as (
    select m.minute, count(distinct s.session_id) as active_sessions
    from minutes m join session_minutes s on s.minute > m.minute - interval 5 minute and s.minute <= m.minute
    group by m.minute),
  orders as (${sources.orders("(select lo from bounds)")}),
  rejected as (${sources.rejected("(select lo from bounds)")}),
  bots as (${sources.bots("(select lo from bounds)")})
  select m.minute,
         coalesce(c.events, 0)::BIGINT as events,
         coalesce(c.page_views, 0)::BIGINT as page_views,
         coalesce(st.sessions_started, 0)::BIGINT as sessions_started,
         coalesce(a.active_sessions, 0)::BIGINT as active_sessions,
         coalesce(c.add_to_carts, 0)::BIGINT as add_to_carts,
         coalesce(c.checkouts, 0)::BIGINT as checkouts,
         coalesce(o.orders, 0)::BIGINT as orders,
         coalesce(o.units, 0)::BIGINT as units,
         coalesce(o.net_revenue, 0)::DECIMAL(18,2) as net_revenue,
         coalesce(r.dlq_records, 0)::BIGINT as dlq_records,
         coalesce(b.bot_events, 0)::BIGINT as bot_events
  from minutes m
  left join counts c using (minute) left join starts st using (minute) left join active a using (minute)
  left join orders o using (minute) left join rejected r using (minute) left join bots b using (minute)
  order by m.minute`

/** Top 10 products by views and by revenue in the last 15 and 60 minutes before `now` (from Silver, or from
 *  relations of the same columns). */
export const topProductsSql = (now: number, pageViews = "page_view", orderItems = "order_item") => `
  with windows as (select unnest([15, 60]) as window_minutes),
  views as (
    select w.window_minutes, v.sku, count(*) as views
    from windows w join ${pageViews} v
      on v.page_type = 'product' and v.${HUMAN} and v.event_ts > ${ts(now)} - to_minutes(w.window_minutes) and v.event_ts <= ${ts(now)}
    group by all),
  revenue as (
    select w.window_minutes, i.sku, sum(i.line_total) as revenue, sum(i.quantity) as units
    from windows w join ${orderItems} i
      on i.is_bot is not true and i.trusted is not false and i.event_ts > ${ts(now)} - to_minutes(w.window_minutes) and i.event_ts <= ${ts(now)}
    group by all),
  ranked as (
    select 'views' as ranking, window_minutes, sku, views::BIGINT as views, null::DECIMAL(18,2) as revenue, null::BIGINT as units,
           row_number() over (partition by window_minutes order by views desc, sku) as rank from views
    union all
    select 'revenue', window_minutes, sku, null, revenue::DECIMAL(18,2), units::BIGINT,
           row_number() over (partition by window_minutes order by revenue desc, sku) from revenue)
  select r.ranking, r.window_minutes, r.rank::INTEGER as rank, r.sku, coalesce(s.name, r.sku) as name,
         coalesce(s.category, 'unknown') as category, r.views, r.revenue, r.units
  from ranked r left join dim_sku s using (sku) where r.rank <= 10
  order by r.ranking, r.window_minutes, r.rank`
