{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='session_date') }}
-- One row per session: start, end, duration, page views, how far down the funnel it went, orders and revenue,
-- landing page, device, country, utm source. Incremental by session_date: the days of the sessions that got
-- new events are rebuilt whole (a late event can even move a session to an earlier day).
{% if is_incremental() %}
{% set events %}
    (select * from {{ ref('stg_events') }}
     where session_id in (select session_id from candidates)
       and event_date >= (select min(session_date) from days))
{% endset %}
{% else %}
{% set events = ref('stg_events') %}
{% endif %}
with
{% if is_incremental() %}
touched as (
    select distinct session_id from {{ ref('stg_events') }} where ingested_at > {{ ingested_watermark() }}
),
days as (
    select session_date from {{ this }} where session_id in (select session_id from touched)
    union
    select min(event_ts)::DATE from {{ ref('stg_events') }}
    where session_id in (select session_id from touched) group by session_id
),
-- Every session that starts on a rebuilt day has an event on that day.
candidates as (
    select distinct session_id from {{ ref('stg_events') }} where event_date in (select session_date from days)
),
{% endif %}
sessions as (
    {{ sessions_of(events) }}
),
orders as (
    select session_id, count(distinct order_id) as orders, sum(net_revenue) as revenue, max(ingested_at) as ingested_at
    from {{ ref('stg_orders') }}
    where session_id in (select session_id from sessions)
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
{% if is_incremental() %} where s.session_date in (select session_date from days) {% endif %}
