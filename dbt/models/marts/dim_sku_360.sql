-- Every sku of the catalog, plus any sku seen in events but missing from it (in_catalog = false, category
-- 'unknown'), with its views, carts, orders, revenue, cart-to-order rate and returns over all time.
with totals as (
    select
        sku,
        sum(product_views) as product_views,
        sum(view_sessions) as view_sessions,
        sum(cart_adds) as cart_adds,
        sum(cart_units) as cart_units,
        sum(orders) as orders,
        sum(units_sold) as units_sold,
        sum(revenue) as revenue,
        sum(returns) as returns,
        sum(returned_units) as returned_units,
        min(event_date) as first_activity_date,
        max(event_date) as last_activity_date
    from {{ ref('int_sku_daily') }}
    group by sku
),
skus as (
    select sku from {{ ref('dim_sku') }} union select sku from totals
)
select
    k.sku,
    c.sku is not null as in_catalog,
    c.name,
    coalesce(c.category, 'unknown') as category,
    c.brand,
    c.price,
    coalesce(t.product_views, 0)::BIGINT as product_views,
    coalesce(t.view_sessions, 0)::BIGINT as view_sessions,
    coalesce(t.cart_adds, 0)::BIGINT as cart_adds,
    coalesce(t.cart_units, 0)::BIGINT as cart_units,
    coalesce(t.orders, 0)::BIGINT as orders,
    coalesce(t.units_sold, 0)::BIGINT as units_sold,
    coalesce(t.revenue, 0)::DECIMAL(18,2) as revenue,
    round(t.orders / nullif(t.cart_adds, 0), 4) as cart_to_order_rate,
    coalesce(t.returns, 0)::BIGINT as returns,
    coalesce(t.returned_units, 0)::BIGINT as returned_units,
    round(t.returned_units / nullif(t.units_sold, 0), 4) as return_rate,
    t.first_activity_date,
    t.last_activity_date
from skus k
left join {{ ref('dim_sku') }} c using (sku)
left join totals t using (sku)
