{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date') }}
-- depends_on: {{ ref('stg_events') }}
-- Per day and sku: product views, cart adds, order lines and returns (what dim_sku_360 adds up).
{% set days %}{% if is_incremental() %} where event_date in {{ changed_days() }}{% endif %}{% endset %}
with
views as (
    select event_date, sku, count(*) as product_views, count(distinct session_id) as view_sessions,
           max(ingested_at) as ingested_at
    from {{ ref('stg_page_view') }}
    {{ days }}{{ " and" if is_incremental() else " where" }} page_type = 'product' and sku is not null and not is_bot
    group by all
),
carts as (
    select event_date, sku, count(*) as cart_adds, sum(quantity) as cart_units, max(ingested_at) as ingested_at
    from {{ ref('stg_add_to_cart') }} {{ days }}{{ " and" if is_incremental() else " where" }} not is_bot group by all
),
lines as (
    select event_date, sku, count(distinct order_id) as orders, sum(quantity) as units_sold, sum(line_total) as revenue
    from {{ ref('stg_order_items') }} {{ days }}{{ " and" if is_incremental() else " where" }} counted group by all
),
returned as (
    select event_date, sku, count(distinct order_id) as returns, sum(quantity) as returned_units
    from {{ ref('stg_return_items') }} {{ days }} group by all
),
-- Order and return lines carry no ingested_at; their events' rows do.
ingested as (
    select event_date, max(ingested_at) as ingested_at from {{ ref('stg_orders') }} {{ days }} group by all
    union all
    select event_date, max(ingested_at) from {{ ref('stg_returns') }} {{ days }} group by all
),
keys as (
    select event_date, sku from views union select event_date, sku from carts
    union select event_date, sku from lines union select event_date, sku from returned
)
select
    k.event_date,
    k.sku,
    coalesce(v.product_views, 0)::BIGINT as product_views,
    coalesce(v.view_sessions, 0)::BIGINT as view_sessions,
    coalesce(c.cart_adds, 0)::BIGINT as cart_adds,
    coalesce(c.cart_units, 0)::BIGINT as cart_units,
    coalesce(l.orders, 0)::BIGINT as orders,
    coalesce(l.units_sold, 0)::BIGINT as units_sold,
    coalesce(l.revenue, 0)::DECIMAL(18,2) as revenue,
    coalesce(r.returns, 0)::BIGINT as returns,
    coalesce(r.returned_units, 0)::BIGINT as returned_units,
    greatest(v.ingested_at, c.ingested_at, (select max(ingested_at) from ingested i where i.event_date = k.event_date))
        as _ingested_at
from keys k
left join views v using (event_date, sku)
left join carts c using (event_date, sku)
left join lines l using (event_date, sku)
left join returned r using (event_date, sku)
