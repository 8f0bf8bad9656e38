-- Active users per day (contract: distinct coalesce(user_id, anonymous_id)): DAU that day, WAU over the trailing
-- 7 days, MAU over the trailing 30 days (the day included), for every day from the first to the last with data.
with user_days as (
    select distinct event_date, user_key from {{ ref('int_user_days') }}
),
days as (
    select unnest(generate_series(min(event_date), max(event_date), interval 1 day))::DATE as event_date
    from user_days
)
select
    d.event_date,
    (count(distinct u.user_key) filter (where u.event_date = d.event_date))::BIGINT as dau,
    (count(distinct u.user_key) filter (where u.event_date > d.event_date - 7))::BIGINT as wau,
    count(distinct u.user_key)::BIGINT as mau
from days d
join user_days u on u.event_date > d.event_date - 30 and u.event_date <= d.event_date
group by d.event_date
