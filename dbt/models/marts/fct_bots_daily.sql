-- Bot events per day and reason, and the sessions they came from (contract: Bots, counted on their own);
-- the same numbers as gold's bots_daily.
select
    event_date,
    bot_reason,
    count(*)::BIGINT as bot_events,
    count(distinct session_id)::BIGINT as bot_sessions
from {{ ref('stg_events') }}
where is_bot
group by event_date, bot_reason
