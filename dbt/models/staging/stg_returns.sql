-- One row per order_returned event (Silver order_returned).
select
    event_id, event_type, event_ts, event_date, session_id, anonymous_id, user_id, coalesce(user_id, anonymous_id) as user_key, device, country, referrer, utm_source, utm_medium, utm_campaign,
    browser, os, ua_device, referrer_class, coalesce(is_bot, false) as is_bot, bot_reason,
    order_id, line_count, units, refund_amount, currency, reason,
    -- Counted in orders and money: human and trusted (contract: Bots, Trusted orders).
    keyed, coalesce(trusted, true) as trusted, coalesce(is_bot, false) = false and coalesce(trusted, true) as counted,
    source_partition, source_offset, record_ts, ingested_at
from {{ silver('order_returned') }}
