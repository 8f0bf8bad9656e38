-- The funnel per session date (contract: sessions; with a product page view; with an add_to_cart; with a
-- checkout_started; with an order_placed). Each rate is a step over the previous step; conversion is orders over sessions.
with f as (
    select
        session_date,
        count(*)::BIGINT as sessions,
        (count(*) filter (where viewed_product))::BIGINT as product_view_sessions,
        (count(*) filter (where reached_cart))::BIGINT as cart_sessions,
        (count(*) filter (where reached_checkout))::BIGINT as checkout_sessions,
        (count(*) filter (where reached_order))::BIGINT as order_sessions
    from {{ ref('fct_sessions') }}
    group by session_date
)
select
    *,
    round(product_view_sessions / nullif(sessions, 0), 4) as product_view_rate,
    round(cart_sessions / nullif(product_view_sessions, 0), 4) as cart_rate,
    round(checkout_sessions / nullif(cart_sessions, 0), 4) as checkout_rate,
    round(order_sessions / nullif(checkout_sessions, 0), 4) as order_rate,
    round(order_sessions / nullif(sessions, 0), 4) as conversion_rate
from f
