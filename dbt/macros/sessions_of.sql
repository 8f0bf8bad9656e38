{#
  Sessions (contract: all events with one session_id; its date is the UTC date of its first event), one row per
  session of `events` (a relation or subquery over stg_events). Shared by stg_sessions (every session) and
  fct_sessions (the sessions of the days being rebuilt), so both agree by construction.
#}
{% macro sessions_of(events) -%}
select
    session_id,
    min(event_ts) as started_at,
    max(event_ts) as ended_at,
    min(event_ts)::DATE as session_date,
    count(*) as events,
    count(*) filter (where event_type = 'page_view') as page_views,
    count(*) filter (where event_type = 'page_view' and page_type = 'product') as product_views,
    bool_or(event_type = 'page_view' and page_type = 'product') as viewed_product,
    bool_or(event_type = 'add_to_cart') as reached_cart,
    bool_or(event_type = 'checkout_started') as reached_checkout,
    bool_or(event_type = 'order_placed') as reached_order,
    -- Ties on event_ts are broken by event_id so a rebuild picks the same row.
    arg_min(page_type, (event_ts, event_id)) filter (where event_type = 'page_view') as landing_page_type,
    arg_min(page_url, (event_ts, event_id)) filter (where event_type = 'page_view') as landing_page_url,
    arg_min(device, (event_ts, event_id)) as device,
    arg_min(country, (event_ts, event_id)) as country,
    arg_min(utm_source, (event_ts, event_id)) as utm_source,
    arg_min(referrer, (event_ts, event_id)) as referrer,
    arg_min(anonymous_id, (event_ts, event_id)) as anonymous_id,
    -- The customer the session logged in as (the last one, should it change).
    arg_max(user_id, (event_ts, event_id)) filter (where user_id is not null) as user_id,
    max(ingested_at) as _ingested_at
from {{ events }}
-- Bot events are in no session (contract: Bots).
where not is_bot
group by session_id
{%- endmacro %}
