/**
 * The gold daily facts, following the contract's business definitions (docs/contract/events-v1.md):
 * each is a query over the Silver views for a list of days, one row per day (and category).
 */
const dayList = (days: ReadonlyArray<string>) => days.map((d) => `DATE '${d}'`).join(", ")

/**
 * Contract "Bots": business figures count only events that are not bot events. `is not true` / `is not false`:
 * files written before these columns existed read them as null, and their events count as before.
 */
export const HUMAN = "is_bot is not true"
/** Contract "Trusted orders": money and order counts take human, trusted order events only. */
export const COUNTED_ORDER = "is_bot is not true and trusted is not false"

const eventTables = [
  ["page_view", "page_type"],
  ["search", "null"],
  ["add_to_cart", "null"],
  ["remove_from_cart", "null"],
  ["checkout_started", "null"],
  ["order_placed", "null"],
  ["order_returned", "null"],
] as const

/** Every human Silver event with what sessions, funnels and active users need; and every bot event apart. */
export const allEventsViewSql = `
create or replace view all_events as
  ${eventTables
    .map(
      ([t, pageType]) =>
        `select session_id, event_ts, event_date, event_type, coalesce(user_id, anonymous_id) as actor, ${pageType} as page_type from ${t} where ${HUMAN}`,
    )
    .join("\n  union all ")};
create or replace view bot_events as
  ${eventTables
    .map(([t]) => `select session_id, event_ts, event_date, event_type, bot_reason from ${t} where is_bot`)
    .join("\n  union all ")};
`

export interface GoldFact {
  readonly name: string
  /** The fact's rows for these days; must have an `event_date` column. */
  readonly sql: (days: ReadonlyArray<string>) => string
  /** Days whose rows change when these days' Silver changes (a late event, a session crossing midnight). */
  readonly affected: (changed: ReadonlyArray<string>) => string
}

const same = (changed: ReadonlyArray<string>) => `select unnest([${dayList(changed)}]) as d`

/** Orders per event_date of order_placed: distinct orders, units, and the average net order value. */
export const ordersDaily: GoldFact = {
  name: "orders_daily",
  sql: (days) => `
    select event_date,
           count(distinct order_id)::BIGINT as orders,
           sum(units)::BIGINT as units,
           (sum(subtotal) - sum(discount))::DECIMAL(18,2) as net_revenue,
           round((sum(subtotal) - sum(discount)) / count(distinct order_id), 2)::DECIMAL(18,2) as avg_order_value
    from order_placed where ${COUNTED_ORDER} and event_date in (${dayList(days)}) group by event_date`,
  affected: same,
}

/** Money per day: order figures by the order's day, refunds by the return's day. */
export const revenueDaily: GoldFact = {
  name: "revenue_daily",
  sql: (days) => `
    with o as (
      select event_date, sum(subtotal) as gmv, sum(discount) as discounts, sum(shipping) as shipping,
             sum(tax) as tax, sum(total) as total_collected
      from order_placed where ${COUNTED_ORDER} and event_date in (${dayList(days)}) group by event_date
    ), r as (
      select event_date, sum(refund_amount) as refunds
      from order_returned where ${COUNTED_ORDER} and event_date in (${dayList(days)}) group by event_date
    )
    select coalesce(o.event_date, r.event_date) as event_date,
           coalesce(o.gmv, 0)::DECIMAL(18,2) as gmv,
           coalesce(o.discounts, 0)::DECIMAL(18,2) as discounts,
           (coalesce(o.gmv, 0) - coalesce(o.discounts, 0))::DECIMAL(18,2) as net_revenue,
           coalesce(o.shipping, 0)::DECIMAL(18,2) as shipping,
           coalesce(o.tax, 0)::DECIMAL(18,2) as tax,
           coalesce(o.total_collected, 0)::DECIMAL(18,2) as total_collected,
           coalesce(r.refunds, 0)::DECIMAL(18,2) as refunds
    from o full outer join r on o.event_date = r.event_date`,
  affected: same,
}

/** Order line revenue (quantity * unit_price) by the catalog category of the sku; `unknown` if not in it. */
export const revenueByCategoryDaily: GoldFact = {
  name: "revenue_by_category_daily",
  sql: (days) => `
    select i.event_date, coalesce(s.category, 'unknown') as category,
           sum(i.line_total)::DECIMAL(18,2) as revenue, sum(i.quantity)::BIGINT as units
    from order_item i left join dim_sku s on s.sku = i.sku
    where i.is_bot is not true and i.trusted is not false and i.event_date in (${dayList(days)}) group by all`,
  affected: same,
}

/** Sessions: all events with one session_id; a session's date is the UTC date of its first event. */
const sessionsSql = `
  select session_id, min(event_ts)::DATE as session_date,
         bool_or(event_type = 'page_view' and page_type = 'product') as viewed_product,
         bool_or(event_type = 'add_to_cart') as added_to_cart,
         bool_or(event_type = 'checkout_started') as started_checkout,
         bool_or(event_type = 'order_placed') as ordered
  from all_events group by session_id`

/** The funnel per session date; each rate is a step over the previous step, conversion is orders over sessions. */
export const funnelDaily: GoldFact = {
  name: "funnel_daily",
  sql: (days) => `
    with s as (${sessionsSql}), f as (
      select session_date as event_date,
             count(*)::BIGINT as sessions,
             count(*) filter (where viewed_product)::BIGINT as product_view_sessions,
             count(*) filter (where added_to_cart)::BIGINT as cart_sessions,
             count(*) filter (where started_checkout)::BIGINT as checkout_sessions,
             count(*) filter (where ordered)::BIGINT as order_sessions
      from s where session_date in (${dayList(days)}) group by session_date
    )
    select *,
           round(product_view_sessions / nullif(sessions, 0), 4) as product_view_rate,
           round(cart_sessions / nullif(product_view_sessions, 0), 4) as cart_rate,
           round(checkout_sessions / nullif(cart_sessions, 0), 4) as checkout_rate,
           round(order_sessions / nullif(checkout_sessions, 0), 4) as order_rate,
           round(order_sessions / nullif(sessions, 0), 4) as conversion_rate
    from f`,
  // A session that started earlier and got events on a changed day belongs to its first day.
  affected: (changed) => `
    select distinct min(event_ts)::DATE as d from all_events
    where session_id in (select session_id from all_events where event_date in (${dayList(changed)}))
    group by session_id`,
}

/** DAU, and trailing 7- and 30-day distinct users (coalesce(user_id, anonymous_id)). */
export const activeUsersDaily: GoldFact = {
  name: "active_users_daily",
  sql: (days) => `
    with d as (select unnest([${dayList(days)}]) as event_date)
    select d.event_date,
           count(distinct e.actor) filter (where e.event_date = d.event_date)::BIGINT as dau,
           count(distinct e.actor) filter (where e.event_date > d.event_date - 7)::BIGINT as wau,
           count(distinct e.actor)::BIGINT as mau
    from d join all_events e on e.event_date > d.event_date - 30 and e.event_date <= d.event_date
    group by d.event_date`,
  // A day counts in the WAU of the next 6 days and the MAU of the next 29, up to the newest data.
  affected: (changed) => `
    select distinct d from (
      select unnest(generate_series(c, c + interval 29 day, interval 1 day))::DATE as d
      from (select unnest([${dayList(changed)}]) as c)
    ) where d <= (select max(event_date) from all_events)`,
}

/** Bot events per day and reason, and the sessions they came from (contract "Bots": counted on their own). */
export const botsDaily: GoldFact = {
  name: "bots_daily",
  sql: (days) => `
    select event_date, bot_reason, count(*)::BIGINT as bot_events, count(distinct session_id)::BIGINT as bot_sessions
    from bot_events where event_date in (${dayList(days)}) group by event_date, bot_reason`,
  affected: same,
}

export const GOLD_FACTS: ReadonlyArray<GoldFact> = [
  ordersDaily,
  revenueDaily,
  revenueByCategoryDaily,
  funnelDaily,
  activeUsersDaily,
  botsDaily,
]
