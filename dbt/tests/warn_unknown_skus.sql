-- SKUs seen in events but missing from the catalog: kept (contract), reported here as a warning.
{{ config(severity='warn') }}
select sku, product_views, cart_adds, orders, units_sold, revenue
from {{ ref('dim_sku_360') }}
where not in_catalog
