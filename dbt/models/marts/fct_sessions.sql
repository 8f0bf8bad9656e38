{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='session_date',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where session_id in (select session_id from {{ ref('stg_events') }} where ingested_at > {{ ingested_watermark() }}){% endif %}"
) }}
-- One row per session: start, end, duration, page views, how far down the funnel it went, orders and revenue,
-- landing page, device, country, utm source. Incremental by session_date: the days of the sessions that got
-- new events are rebuilt whole. A late event can move a session to an earlier day: the pre-hook first drops the
-- rows of every session with new events, so no stale row stays behind on a day that has nothing else to rebuild.
{% if is_incremental() %}
{% set touched %}
    select distinct session_id from {{ ref('stg_events') }} where ingested_at > {{ ingested_watermark() }}
{% endset %}
{# The days of sessions with new events: where they were, and where they start now. #}
{% set day_values = date_values(
    "select session_date from " ~ this ~ " where session_id in (" ~ touched ~ ")"
    ~ " union select min(event_ts)::DATE from " ~ ref('stg_events') ~ " where session_id in (" ~ touched ~ ")"
    ~ " group by session_id order by 1") %}
{% set days = date_list(day_values) %}
{# Every session that starts on a rebuilt day has an event on that day, and none before it. #}
{% set events %}
    (select * from {{ ref('stg_events') }}
     where event_date >= {{ ("DATE '" ~ day_values[0] ~ "'") if day_values else "NULL::DATE" }}
       and session_id in (select session_id from {{ ref('stg_events') }} where event_date in {{ days }}))
{% endset %}
{% else %}
{% set events = ref('stg_events') %}
{% endif %}
with
sessions as (
    {{ sessions_of(events) }}
),
orders as (
    select session_id, count(distinct order_id) as orders, sum(net_revenue) as revenue, max(ingested_at) as ingested_at
    from {{ ref('stg_orders') }}
    where counted and session_id in (select session_id from sessions)
    group by session_id
)
select
    s.session_id,
    s.session_date,
    s.started_at,
    s.ended_at,
    round((epoch_ms(s.ended_at) - epoch_ms(s.started_at)) / 1000, 3)::DECIMAL(12,3) as duration_seconds,
    s.events::BIGINT as events,
    s.page_views::BIGINT as page_views,
    s.product_views::BIGINT as product_views,
    s.viewed_product,
    s.reached_cart,
    s.reached_checkout,
    s.reached_order,
    coalesce(o.orders, 0)::BIGINT as orders,
    coalesce(o.revenue, 0)::DECIMAL(18,2) as revenue,
    s.landing_page_type,
    s.landing_page_url,
    s.device,
    s.country,
    s.utm_source,
    s.referrer,
    s.anonymous_id,
    s.user_id,
    coalesce(s.user_id, s.anonymous_id) as user_key,
    s.page_views = 1 and s.events = 1 as is_bounce,
    s._ingested_at
from sessions s
left join orders o using (session_id)
{% if is_incremental() %} where s.session_date in {{ days }} {% endif %}
