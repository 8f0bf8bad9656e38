{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date') }}
-- One row per day, user and session the user was active in; the user is the contract's active-user key,
-- coalesce(user_id, anonymous_id). Feeds fct_active_users, dim_user and cohort_retention without rescanning events.
select
    event_date,
    user_key,
    session_id,
    max(user_id) as user_id,
    min(event_ts) as first_seen_at,
    max(event_ts) as last_seen_at,
    count(*)::BIGINT as events,
    max(ingested_at) as _ingested_at
from {{ ref('stg_events') }}
-- Bot events make no active user (contract: Bots).
{% if is_incremental() %} where event_date in {{ changed_days() }} and not is_bot {% else %} where not is_bot {% endif %}
group by event_date, user_key, session_id
