-- One row per returned line (Silver return_item): the items of each order_returned event.
select event_id, order_id, line_no, sku, quantity, event_ts, event_date
from {{ silver('return_item') }}
