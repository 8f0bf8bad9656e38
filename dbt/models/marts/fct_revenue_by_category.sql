-- Order line revenue (quantity * unit_price) per day and catalog category; `unknown` when the sku is not in the catalog.
select
    i.event_date,
    coalesce(s.category, 'unknown') as category,
    sum(i.line_total)::DECIMAL(18,2) as revenue,
    sum(i.quantity)::BIGINT as units,
    count(distinct i.order_id)::BIGINT as orders,
    count(*)::BIGINT as order_lines
from {{ ref('stg_order_items') }} i
left join {{ ref('dim_sku') }} s on s.sku = i.sku
where i.counted
group by all
