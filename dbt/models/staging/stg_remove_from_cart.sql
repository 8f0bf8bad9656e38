-- One row per remove from cart (Silver remove_from_cart).
select
    event_id, event_type, event_ts, event_date, session_id, anonymous_id, user_id, coalesce(user_id, anonymous_id) as user_key, device, country, referrer, utm_source, utm_medium, utm_campaign,
    browser, os, ua_device, referrer_class, coalesce(is_bot, false) as is_bot, bot_reason,
    sku, quantity,
    source_partition, source_offset, record_ts, ingested_at
from {{ silver('remove_from_cart') }}
