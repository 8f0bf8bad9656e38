-- One row per order_returned event (Silver order_returned).
select
    event_id, event_type, event_ts, event_date, session_id, anonymous_id, user_id, coalesce(user_id, anonymous_id) as user_key, device, country, referrer, utm_source, utm_medium, utm_campaign,
    order_id, line_count, units, refund_amount, currency, reason,
    source_partition, source_offset, record_ts, ingested_at
from {{ silver('order_returned') }}
