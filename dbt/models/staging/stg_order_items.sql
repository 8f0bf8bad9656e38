-- One row per order line (Silver order_item): the items of each order_placed event.
select event_id, order_id, line_no, sku, quantity, unit_price, line_total, event_ts, event_date,
       session_id, user_id, anonymous_id, coalesce(user_id, anonymous_id) as user_key,
       coalesce(is_bot, false) = false and coalesce(trusted, true) as counted
from {{ silver('order_item') }}
