-- One row per order_placed event (Silver order_placed); net_revenue = subtotal - discount.
select
    event_id, event_type, event_ts, event_date, session_id, anonymous_id, user_id, coalesce(user_id, anonymous_id) as user_key, device, country, referrer, utm_source, utm_medium, utm_campaign,
    browser, os, ua_device, referrer_class, coalesce(is_bot, false) as is_bot, bot_reason,
    order_id, line_count, units, subtotal, discount, (subtotal - discount)::DECIMAL(18,2) as net_revenue, shipping, tax, total, currency, payment_method, coupon,
    -- Counted in orders and money: human and trusted (contract: Bots, Trusted orders).
    keyed, coalesce(trusted, true) as trusted, coalesce(is_bot, false) = false and coalesce(trusted, true) as counted,
    source_partition, source_offset, record_ts, ingested_at
from {{ silver('order_placed') }}
