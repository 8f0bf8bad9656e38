-- One row per user (the contract's active-user key, coalesce(user_id, anonymous_id)): first and last seen,
-- sessions, orders, lifetime value, returning or not, and the segment from the user_segments seed.
with activity as (
    select
        user_key,
        max(user_id) as user_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(distinct event_date) as active_days,
        count(distinct session_id) as sessions,
        sum(events) as events
    from {{ ref('int_user_days') }}
    group by user_key
),
orders as (
    select
        user_key,
        count(distinct order_id) as orders,
        sum(net_revenue) as net_revenue,
        sum(refund_amount) as refunds,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from {{ ref('fct_orders') }}
    group by user_key
)
select
    a.user_key,
    a.user_id,
    a.user_id is not null as is_registered,
    coalesce(seg.segment, 'regular') as segment,
    a.first_seen_at,
    a.last_seen_at,
    a.first_seen_at::DATE as first_seen_date,
    a.last_seen_at::DATE as last_seen_date,
    a.active_days::BIGINT as active_days,
    a.sessions::BIGINT as sessions,
    a.events::BIGINT as events,
    coalesce(o.orders, 0)::BIGINT as orders,
    coalesce(o.net_revenue, 0)::DECIMAL(18,2) as net_revenue,
    coalesce(o.refunds, 0)::DECIMAL(18,2) as refunds,
    (coalesce(o.net_revenue, 0) - coalesce(o.refunds, 0))::DECIMAL(18,2) as lifetime_value,
    o.first_order_at,
    o.last_order_at,
    a.sessions > 1 as is_returning
from activity a
left join orders o using (user_key)
left join {{ ref('user_segments') }} seg on seg.user_id = a.user_id
