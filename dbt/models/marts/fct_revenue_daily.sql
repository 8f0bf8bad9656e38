-- Money per day: order figures by the order's day, refunds by the return's day (contract: Orders and revenue, Refunds).
with o as (
    select event_date, count(distinct order_id) as orders, sum(subtotal) as gmv, sum(discount) as discounts,
           sum(shipping) as shipping, sum(tax) as tax, sum(total) as total_collected
    from {{ ref('fct_orders') }}
    group by event_date
),
r as (
    select event_date, count(*) as returns, sum(refund_amount) as refunds
    from {{ ref('stg_returns') }}
    where counted
    group by event_date
)
select
    coalesce(o.event_date, r.event_date) as event_date,
    coalesce(o.orders, 0)::BIGINT as orders,
    coalesce(o.gmv, 0)::DECIMAL(18,2) as gmv,
    coalesce(o.discounts, 0)::DECIMAL(18,2) as discounts,
    (coalesce(o.gmv, 0) - coalesce(o.discounts, 0))::DECIMAL(18,2) as net_revenue,
    coalesce(o.shipping, 0)::DECIMAL(18,2) as shipping,
    coalesce(o.tax, 0)::DECIMAL(18,2) as tax,
    coalesce(o.total_collected, 0)::DECIMAL(18,2) as total_collected,
    coalesce(r.returns, 0)::BIGINT as returns,
    coalesce(r.refunds, 0)::DECIMAL(18,2) as refunds,
    (coalesce(o.gmv, 0) - coalesce(o.discounts, 0) - coalesce(r.refunds, 0))::DECIMAL(18,2) as net_revenue_after_refunds
from o
full outer join r on o.event_date = r.event_date
