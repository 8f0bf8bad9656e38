-- Every Silver event in one relation, with what sessions, funnels and active users need.
{%- set common = "event_id, event_type, event_ts, event_date, session_id, anonymous_id, user_id, user_key, device, country, referrer, utm_source, is_bot, bot_reason, ingested_at" %}
select {{ common }}, page_type, page_url, sku from {{ ref('stg_page_view') }}
union all select {{ common }}, null, null, null from {{ ref('stg_search') }}
union all select {{ common }}, null, null, sku from {{ ref('stg_add_to_cart') }}
union all select {{ common }}, null, null, sku from {{ ref('stg_remove_from_cart') }}
union all select {{ common }}, null, null, null from {{ ref('stg_checkout_started') }}
union all select {{ common }}, null, null, null from {{ ref('stg_orders') }}
union all select {{ common }}, null, null, null from {{ ref('stg_returns') }}
