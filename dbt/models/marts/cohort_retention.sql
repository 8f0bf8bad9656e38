-- Weekly cohorts (weeks start on Monday, UTC) of users by their first visit and of customers by their first
-- order, and how many of each cohort came back in each later week: visited (first_visit cohorts) or ordered
-- (first_order cohorts). Week 0 is the cohort's own week, so its retention is 1.
with visits as (
    select distinct user_key, date_trunc('week', event_date)::DATE as activity_week from {{ ref('int_user_days') }}
),
orders as (
    select distinct user_key, date_trunc('week', event_date)::DATE as activity_week from {{ ref('fct_orders') }}
),
activity as (
    select 'first_visit' as cohort_type, * from visits
    union all
    select 'first_order', * from orders
),
cohorts as (
    select cohort_type, user_key, min(activity_week) as cohort_week from activity group by all
),
sizes as (
    select cohort_type, cohort_week, count(*) as cohort_users from cohorts group by all
)
select
    c.cohort_type,
    c.cohort_week,
    (date_diff('day', c.cohort_week, a.activity_week) // 7)::INTEGER as week_number,
    s.cohort_users::BIGINT as cohort_users,
    count(distinct a.user_key)::BIGINT as active_users,
    round(count(distinct a.user_key) / any_value(s.cohort_users), 4) as retention_rate
from cohorts c
join activity a using (cohort_type, user_key)
join sizes s using (cohort_type, cohort_week)
group by 1, 2, 3, 4
