-- Contract order invariants, checked on the lake: subtotal = sum(quantity * unit_price) of the lines; total =
-- subtotal - discount + shipping + tax, to the cent; line_count and units agree with the lines.
with lines as (
    select event_id, count(*) as line_count, sum(quantity) as units, sum(quantity * unit_price) as subtotal
    from {{ ref('stg_order_items') }}
    group by event_id
)
select o.order_id, o.subtotal, l.subtotal as lines_subtotal, o.total, o.line_count, l.line_count as lines, o.units, l.units as line_units
from {{ ref('stg_orders') }} o
left join lines l using (event_id)
where l.event_id is null
   or o.subtotal <> l.subtotal
   or o.total <> o.subtotal - o.discount + o.shipping + o.tax
   or o.line_count <> l.line_count
   or o.units <> l.units
