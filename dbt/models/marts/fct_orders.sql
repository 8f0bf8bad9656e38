{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date') }}
-- depends_on: {{ ref('stg_events') }}
-- One row per order (order_placed), with what happened to it afterwards (returns, refunds).
{% if is_incremental() %}
{% set days_sql %}
    {{ changed_days_sql() }}
    -- A late return changes the row of its order, which belongs to the order's own day.
    union
    select o.event_date from {{ ref('stg_returns') }} r join {{ ref('stg_orders') }} o using (order_id)
    where r.ingested_at > {{ ingested_watermark() }}
    order by 1
{% endset %}
{% endif %}
with
orders as (
    -- Orders that count (contract: Bots, Trusted orders); the others stay in stg_orders and Silver.
    select * from {{ ref('stg_orders') }} where counted
    {% if is_incremental() %} and event_date in {{ date_list(days_sql) }} {% endif %}
),
returns as (
    select order_id, count(*) as returns, sum(units) as returned_units, sum(refund_amount) as refund_amount,
           min(event_ts) as first_returned_at, max(ingested_at) as ingested_at
    from {{ ref('stg_returns') }}
    where counted and order_id in (select order_id from orders)
    group by order_id
)
select
    o.order_id,
    o.event_id,
    o.event_date,
    o.event_ts as ordered_at,
    o.session_id,
    o.user_id,
    o.anonymous_id,
    o.user_key,
    o.device,
    o.country,
    o.utm_source,
    o.payment_method,
    o.coupon,
    o.line_count,
    o.units,
    o.subtotal,
    o.discount,
    o.net_revenue,
    o.shipping,
    o.tax,
    o.total,
    coalesce(r.returns, 0) > 0 as is_returned,
    coalesce(r.returned_units, 0)::BIGINT as returned_units,
    coalesce(r.refund_amount, 0)::DECIMAL(18,2) as refund_amount,
    r.first_returned_at,
    greatest(o.ingested_at, r.ingested_at) as _ingested_at
from orders o
left join returns r using (order_id)
