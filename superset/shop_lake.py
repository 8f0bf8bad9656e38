"""
The lake as seen by Superset: an in-memory DuckDB per connection with one view per Silver table, gold fact and
dashboard model, created when the connection opens.

Why in-memory (DESIGN.md principle 3): nothing here ever opens a DuckDB *file*, so Superset can never hold a
lock that a pipeline process needs, and there is no views file to keep in sync with the lake. Superset opens a
new connection per query (NullPool), so the views are rebuilt each time and new Parquet files and new tables
(dbt marts appearing later) are seen without a restart. Binding ~30 views costs a few tens of milliseconds.

The dashboard datasets only name these views (`select ... from revenue_daily`), never a path, so the import
bundle holds no DATA_DIR. The daily dashboards read the dbt marts (views named like them, over
`gold/dbt/<mart>.parquet`); until dbt has written a mart, its view computes the columns the dashboards use from
the gold facts and Silver, by the same definitions (SHOP_SUPERSET_DBT=off forces that, for comparisons).
"""

from __future__ import annotations

import glob
import json
import logging
import os
from typing import Any, Callable

log = logging.getLogger("shop_lake")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(REPO_ROOT, "dbt", "seeds", "dim_sku.csv")

SILVER_TABLES = [
    "page_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "order_placed",
    "order_returned",
    "order_item",
    "return_item",
]
GOLD_DAILY = [
    "orders_daily",
    "revenue_daily",
    "revenue_by_category_daily",
    "funnel_daily",
    "active_users_daily",
]


def data_dir() -> str:
    return os.path.abspath(os.environ.get("DATA_DIR", os.path.join(REPO_ROOT, "data")))


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _parquet(pattern: str, hive: bool) -> str | None:
    """`read_parquet(...)` of the files under DATA_DIR matching `pattern`, or None while there are none."""
    full = os.path.join(data_dir(), pattern)
    if not glob.glob(full):
        return None
    return f"read_parquet({_q(full)}{', hive_partitioning = true' if hive else ''})"


# DuckDB types of the lake's column types (packages/lake TableSchema.ts).
_DUCK_TYPES = {
    "string": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp_ms": "TIMESTAMP",
    "money_cents": "DECIMAL(18,2)",
    "bytes": "BLOB",
}


def _empty_table(table: str) -> str | None:
    """An empty relation with the columns of lake table `table` (e.g. "silver/order_returned"), from the
    schemas `bun run superset` writes to $DATA_DIR/superset/lake_tables.json; None if that file is absent."""
    path = os.path.join(data_dir(), "superset", "lake_tables.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        tables = {t["name"]: t["columns"] for t in json.load(f)}
    if table not in tables:
        return None
    columns = ", ".join(f"null::{_DUCK_TYPES[typ]} as {name}" for name, typ in tables[table])
    return f"select {columns}, null::DATE as event_date where false"


def _dbt_mart(name: str) -> str | None:
    """The dbt mart `name` (gold/dbt/<name>.parquet, replaced by rename after each build), once dbt wrote it."""
    return None if os.environ.get("SHOP_SUPERSET_DBT") == "off" else _parquet(f"gold/dbt/{name}.parquet", False)


# Every Silver event with what sessions, funnels and users need (as in packages/warehouse goldSql.ts).
_ALL_EVENTS = " union all ".join(
    f"select session_id, event_ts, event_date, event_type, user_id, anonymous_id, "
    f"coalesce(user_id, anonymous_id) as actor, device, country, utm_source, "
    f"{'page_type' if t == 'page_view' else 'null::VARCHAR'} as page_type from {t}"
    for t in SILVER_TABLES[:7]
)

# The dbt marts' columns that the dashboards use, computed from gold and Silver for when dbt has not run (yet).
# Same business definitions (docs/contract/events-v1.md); dbt's files replace them as soon as they exist.
_MART_FALLBACKS = {
    "fct_revenue_daily": """
      select r.event_date, coalesce(o.orders, 0)::BIGINT as orders, r.gmv, r.discounts, r.net_revenue, r.shipping,
             r.tax, r.total_collected, r.refunds
      from revenue_daily r left join orders_daily o using (event_date)""",
    "fct_orders_daily": "select event_date, orders, units, net_revenue, avg_order_value from orders_daily",
    "fct_revenue_by_category": "select event_date, category, revenue, units from revenue_by_category_daily",
    "daily_funnel": """
      select event_date as session_date, sessions, product_view_sessions, cart_sessions, checkout_sessions,
             order_sessions, conversion_rate
      from funnel_daily""",
    "fct_active_users": "select event_date, dau, wau, mau from active_users_daily",
    # One row per session: its date is the UTC date of its first event.
    "fct_sessions": """
      select session_id, min(event_ts)::DATE as session_date, min(event_ts) as started_at, max(event_ts) as ended_at,
             date_diff('second', min(event_ts), max(event_ts))::BIGINT as duration_seconds, count(*)::BIGINT as events,
             arg_min(device, event_ts) as device, arg_min(country, event_ts) as country,
             arg_min(utm_source, event_ts) as utm_source, arg_min(actor, event_ts) as user_key,
             bool_or(event_type = 'page_view' and page_type = 'product') as viewed_product,
             bool_or(event_type = 'add_to_cart') as reached_cart,
             bool_or(event_type = 'checkout_started') as reached_checkout,
             bool_or(event_type = 'order_placed') as reached_order
      from all_events group by session_id""",
    "dim_user": """
      select actor as user_key, min(event_date) as first_seen_date, max(event_date) as last_seen_date,
             count(distinct event_date)::BIGINT as active_days
      from all_events group by actor""",
    # Weekly (Monday) cohorts by first visit; week 0 is the cohort's own week.
    "cohort_retention": """
      with activity as (select distinct actor as user_key, date_trunc('week', event_date)::DATE as activity_week
                        from all_events),
      cohorts as (select user_key, min(activity_week) as cohort_week from activity group by user_key),
      sizes as (select cohort_week, count(*) as cohort_users from cohorts group by cohort_week)
      select 'first_visit' as cohort_type, c.cohort_week,
             (date_diff('day', c.cohort_week, a.activity_week) // 7)::INTEGER as week_number,
             any_value(s.cohort_users)::BIGINT as cohort_users, count(distinct a.user_key)::BIGINT as active_users,
             round(count(distinct a.user_key) / any_value(s.cohort_users), 4) as retention_rate
      from cohorts c join activity a using (user_key) join sizes s using (cohort_week)
      group by all""",
    # Per sku (catalog and unknown skus seen): views, carts, orders, units, revenue and returns, all time.
    "dim_sku_360": """
      with views as (select sku, count(*) as product_views from page_view where page_type = 'product' group by sku),
      carts as (select sku, count(*) as cart_adds from add_to_cart group by sku),
      sold as (select sku, count(distinct order_id) as orders, sum(quantity) as units_sold, sum(line_total) as revenue
               from order_item group by sku),
      returned as (select sku, sum(quantity) as returned_units from return_item group by sku),
      skus as (select sku from dim_sku union select sku from views union select sku from sold)
      select k.sku, coalesce(d.name, k.sku) as name, coalesce(d.category, 'unknown') as category, d.price,
             coalesce(v.product_views, 0)::BIGINT as product_views, coalesce(c.cart_adds, 0)::BIGINT as cart_adds,
             coalesce(s.orders, 0)::BIGINT as orders, coalesce(s.units_sold, 0)::BIGINT as units_sold,
             coalesce(s.revenue, 0)::DECIMAL(18,2) as revenue, coalesce(r.returned_units, 0)::BIGINT as returned_units
      from skus k left join dim_sku d using (sku) left join views v using (sku) left join carts c using (sku)
      left join sold s using (sku) left join returned r using (sku)""",
}


def view_definitions() -> list[tuple[str, Callable[[], str | None]]]:
    """(view, SQL body) in dependency order; a body of None means "no data yet", and the view is left out."""

    def lake(table: str) -> Callable[[], str | None]:
        def body() -> str | None:
            src = _parquet(f"{table}/*/*.parquet", True)
            return f"select * from {src}" if src else _empty_table(table)

        return body

    def gold(path: str, hive: bool) -> Callable[[], str | None]:
        return lambda: (lambda src: src and f"select * from {src}")(_parquet(path, hive))

    def mart(name: str, fallback: str) -> Callable[[], str | None]:
        return lambda: (lambda src: f"select * from {src}" if src else fallback)(_dbt_mart(name))

    views: list[tuple[str, Callable[[], str | None]]] = [(t, lake(f"silver/{t}")) for t in SILVER_TABLES]
    views.append(("dlq", lake("bronze/dlq")))
    views += [(f, gold(f"gold/{f}/*/*.parquet", True)) for f in GOLD_DAILY]
    views.append(("minute_rollup", gold("gold/realtime/minute_rollup.parquet", False)))
    views.append(("top_products", gold("gold/realtime/top_products.parquet", False)))
    views.append(("dim_sku", lambda: f"select * from read_csv({_q(CATALOG)}, header = true)"))
    views.append(("all_events", lambda: _ALL_EVENTS))
    views += [(name, mart(name, sql)) for name, sql in _MART_FALLBACKS.items()]
    return views


def create_views(conn: Any) -> list[str]:
    """Creates the views on a DuckDB connection; returns the names of those left out (no data yet)."""
    conn.execute("SET TimeZone = 'UTC'")
    missing: list[str] = []
    for name, body in view_definitions():
        sql = body()
        if sql is None:
            missing.append(name)
            continue
        try:
            conn.execute(f"create or replace view {name} as {sql}")
        except Exception as e:  # a view over a table with no data yet: leave it out, keep the others
            log.debug("view %s left out: %s", name, e)
            missing.append(name)
    # Then the connection may only touch the lake's Parquet and the catalog: no other file of the machine, and in
    # particular no DuckDB file of a pipeline process (dbt's lives in $DATA_DIR/dbt) that an ATTACH could lock.
    allowed = [os.path.join(data_dir(), d, "") for d in ("silver", "bronze", "gold")] + [os.path.dirname(CATALOG) + "/"]
    conn.execute(f"SET allowed_directories = [{', '.join(_q(d) for d in allowed)}]")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return missing


def install_connect_hook() -> None:
    """Runs `create_views` on every new duckdb-engine connection to an in-memory database."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if not type(dbapi_connection).__module__.startswith("duckdb_engine"):
            return
        # Only in-memory databases: views are never written into a DuckDB file (it may be a pipeline's).
        (path,) = dbapi_connection.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        if path is None:
            create_views(dbapi_connection)
