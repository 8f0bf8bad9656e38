-- fct_revenue_daily's order money = the sum of fct_orders per day, to the cent (and no day missing either side).
with o as (
    select event_date, count(*) as orders, sum(subtotal) as gmv, sum(discount) as discounts, sum(net_revenue) as net_revenue,
           sum(shipping) as shipping, sum(tax) as tax, sum(total) as total_collected
    from {{ ref('fct_orders') }}
    group by event_date
)
select coalesce(o.event_date, r.event_date) as event_date, o.*, r.*
from o
full outer join (select * from {{ ref('fct_revenue_daily') }} where orders > 0) r using (event_date)
where o.event_date is null or r.event_date is null
   or o.orders <> r.orders or o.gmv <> r.gmv or o.discounts <> r.discounts or o.net_revenue <> r.net_revenue
   or o.shipping <> r.shipping or o.tax <> r.tax or o.total_collected <> r.total_collected
