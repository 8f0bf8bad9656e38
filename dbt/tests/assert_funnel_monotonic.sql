-- Each funnel step is at most the previous one, every day.
select *
from {{ ref('daily_funnel') }}
where product_view_sessions > sessions
   or cart_sessions > product_view_sessions
   or checkout_sessions > cart_sessions
   or order_sessions > checkout_sessions
