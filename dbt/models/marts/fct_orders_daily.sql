-- Orders per day (event_date of order_placed), as the contract defines them; the same numbers as gold's orders_daily.
select
    event_date,
    count(distinct order_id)::BIGINT as orders,
    sum(units)::BIGINT as units,
    sum(subtotal)::DECIMAL(18,2) as gmv,
    sum(discount)::DECIMAL(18,2) as discounts,
    (sum(subtotal) - sum(discount))::DECIMAL(18,2) as net_revenue,
    sum(shipping)::DECIMAL(18,2) as shipping,
    sum(tax)::DECIMAL(18,2) as tax,
    sum(total)::DECIMAL(18,2) as total_collected,
    round((sum(subtotal) - sum(discount)) / count(distinct order_id), 2)::DECIMAL(18,2) as avg_order_value,
    count(*) filter (where is_returned)::BIGINT as orders_returned_since
from {{ ref('fct_orders') }}
group by event_date
