"""
Writes the dashboard import bundle (superset/bundle/*.yaml) from the compact spec below.

The YAML is committed, so a reviewer sees exactly what Superset imports; this script is how it is edited:
change the spec, run `DATA_DIR=<a lake with data> superset/.venv/bin/python superset/tools/build_bundle.py`,
commit both. Dataset columns are taken from DuckDB (DESCRIBE of each dataset's SQL over the lake's views).
UUIDs derive from names, so a rebuild changes only what the spec changed and re-imports update in place.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from typing import Any

import duckdb
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import shop_lake  # noqa: E402

BUNDLE = os.path.join(os.path.dirname(HERE), "bundle")
NS = uuid.UUID("6f1d2c9e-5b1a-4f7e-9a51-2f0c3d8e7b10")


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"shop-pulse/{kind}/{name}"))


DATABASE = "shop_lake"

# --- datasets: name -> SQL over the views of shop_lake.py (no paths) ---------------------------------------
DATASETS: dict[str, str] = {
    "rt_events_per_minute": """select date_trunc('minute', event_ts) as minute, event_type, count(*)::BIGINT as events
from all_events
where event_ts > (select max(event_ts) from all_events) - interval 60 minute
group by all""",
    "rt_minutes": """select *, (dlq_records / nullif(dlq_records + page_views + add_to_carts + checkouts + orders, 0))::DOUBLE as dlq_share
from minute_rollup
where minute > (select max(minute) from minute_rollup) - interval 60 minute""",
    "rt_top_products": """select ranking, rank, sku, name, category, views, revenue, units
from top_products where window_minutes = 60""",
    # The daily dashboards read the dbt marts (views of shop_lake.py, computed from gold until dbt has run).
    "daily_revenue": """select r.event_date, r.gmv, r.discounts, r.net_revenue, r.total_collected, r.refunds, r.orders,
       coalesce(o.units, 0) as units
from fct_revenue_daily r left join fct_orders_daily o using (event_date)""",
    "daily_revenue_by_category": "select event_date, category, revenue, units from fct_revenue_by_category",
    "daily_funnel": """select session_date, sessions, product_view_sessions, cart_sessions, checkout_sessions, order_sessions
from daily_funnel""",
    "funnel_steps": """select step_no, step, sum(sessions)::BIGINT as sessions from (
  select 1 as step_no, '1. sessions' as step, sessions from daily_funnel
  union all select 2, '2. viewed a product', product_view_sessions from daily_funnel
  union all select 3, '3. added to cart', cart_sessions from daily_funnel
  union all select 4, '4. started checkout', checkout_sessions from daily_funnel
  union all select 5, '5. ordered', order_sessions from daily_funnel)
group by all""",
    "session_conversion": """select session_date, device, country, coalesce(utm_source, '(direct)') as utm_source,
       count(*)::BIGINT as sessions, (count(*) filter (where reached_order))::BIGINT as order_sessions
from fct_sessions group by all""",
    "session_length": """select case when duration_seconds < 60 then '00-01 min' when duration_seconds < 120 then '01-02 min'
            when duration_seconds < 300 then '02-05 min' when duration_seconds < 600 then '05-10 min'
            when duration_seconds < 1200 then '10-20 min' else '20+ min' end as length,
       count(*)::BIGINT as sessions
from fct_sessions group by 1""",
    "active_users": "select event_date, dau, wau, mau from fct_active_users",
    "cohort_retention": """select strftime(cohort_week, '%Y-%m-%d') as cohort, week_number, retention_rate, active_users, cohort_users
from cohort_retention where cohort_type = 'first_visit'""",
    "new_vs_returning": """select s.session_date as event_date,
       case when u.first_seen_date = s.session_date then 'new' else 'returning' end as user_type,
       count(distinct s.user_key)::BIGINT as users
from fct_sessions s join dim_user u using (user_key)
group by all""",
    # The newest event time in the lake: what every daily dashboard is "as of" (its last day is partial).
    "data_as_of": "select max(event_ts) as newest_event from all_events",
    "sku_360": """select sku, name, category, price as list_price, product_views as views, cart_adds as carts, orders, units_sold,
       revenue, returned_units, round(orders / nullif(product_views, 0), 4)::DOUBLE as view_to_order_rate
from dim_sku_360""",
}


# --- chart helpers -------------------------------------------------------------------------------------------
def metric(label: str, expr: str) -> dict[str, Any]:
    return {
        "expressionType": "SQL",
        "sqlExpression": expr,
        "label": label,
        "hasCustomLabel": True,
        "optionName": "metric_" + uid("metric", label + expr)[:8],
    }


def no_time_filter(col: str) -> list[dict[str, Any]]:
    return [
        {
            "clause": "WHERE",
            "comparator": "No filter",
            "expressionType": "SIMPLE",
            "operator": "TEMPORAL_RANGE",
            "subject": col,
        }
    ]


# Money as a shop owner reads it ($1,234.50), rates as percentages, days as days.
CURRENCY = {"symbol": "USD", "symbolPosition": "prefix"}
DAY_FORMAT = "%b %-d"  # "Dec 1", never "December" for the first of a month (smart_date does that)
TIME_FORMAT = {"P1D": DAY_FORMAT, "PT1M": "%H:%M"}
# A fixed time format is not spaced out by ECharts ("adaptive formatting" only is): on a chart of 4 columns the
# minute labels ran into each other ("13:1513:20"); turned 45 degrees they fit.
NARROW_MINUTES = {"xAxisLabelRotation": 45}
# A horizontal bar chart's last value label ("$10,000.00") is centred on the grid's right edge, which Superset
# keeps 20 px from the chart's: it was cut ("$ 10,000."). A legend on the right is the one setting that widens it.
HORIZONTAL_ROOM = {"show_legend": True, "legendOrientation": "right", "legendType": "plain", "legendMargin": 100}


def timeseries(viz: str, x: str, metrics: list[dict[str, Any]], grain: str, **extra: Any) -> dict[str, Any]:
    money = extra.pop("money", False)
    return {
        "viz_type": viz,
        "x_axis": x,
        "time_grain_sqla": grain,
        "metrics": metrics,
        "groupby": extra.pop("groupby", []),
        "adhoc_filters": no_time_filter(x),
        "row_limit": 10000,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "x_axis_sort_asc": True,
        "x_axis_time_format": TIME_FORMAT[grain],
        "tooltipTimeFormat": TIME_FORMAT[grain],
        "truncateYAxis": False,
        "y_axis_bounds": [None, None],
        # A line of one day (the first day of a shop) is one point: markers make it visible (60 minute points
        # need none: they drew a row of circles along zero).
        **({"markerEnabled": True, "markerSize": 6} if viz == "echarts_timeseries_line" and grain == "P1D" else {}),
        **({"currency_format": CURRENCY, "y_axis_format": MONEY} if money else {}),
        **extra,
    }


def categorical_bar(x: str, metrics: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    money = extra.pop("money", False)
    return {
        "viz_type": "echarts_timeseries_bar",
        "x_axis": x,
        "metrics": metrics,
        "groupby": extra.pop("groupby", []),
        "adhoc_filters": [],
        "row_limit": extra.pop("row_limit", 10000),
        "show_legend": len(metrics) > 1,
        "rich_tooltip": True,
        # Every bar named: ECharts' "auto" interval named 3 of the 5 UTM sources.
        "xAxisLabelInterval": "0",
        "y_axis_bounds": [None, None],
        **({"currency_format": CURRENCY, "y_axis_format": MONEY} if money else {}),
        **extra,
    }


def big_number_total(m: dict[str, Any], subheader: str, fmt: str = "SMART_NUMBER") -> dict[str, Any]:
    return {
        "viz_type": "big_number_total",
        "metric": m,
        "adhoc_filters": [],
        "subheader": subheader,
        "y_axis_format": fmt,
        **({"currency_format": CURRENCY} if fmt == MONEY else {}),
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
    }


def as_of_number() -> dict[str, Any]:
    """The newest event time of the lake as a big number: what the daily numbers beside it are as of."""
    return {
        "viz_type": "big_number_total",
        "metric": metric("newest event", "MAX(newest_event)"),
        "adhoc_filters": [],
        "subheader": "newest event (UTC); the last day is partial until midnight",
        "force_timestamp_formatting": True,
        "time_format": "%b %-d, %Y %H:%M",
        "header_font_size": 0.3,
        "subheader_font_size": 0.125,
    }


def big_number_trend(m: dict[str, Any], x: str, grain: str, fmt: str = "SMART_NUMBER") -> dict[str, Any]:
    return {
        "viz_type": "big_number",
        "metric": m,
        "x_axis": x,
        "time_grain_sqla": grain,
        "adhoc_filters": no_time_filter(x),
        "show_trend_line": True,
        "start_y_axis_at_zero": True,
        "y_axis_format": fmt,
        **({"currency_format": CURRENCY} if fmt == MONEY else {}),
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
        # The number is the newest day's (or minute's): say which, so a partial day reads as one.
        "show_timestamp": True,
        "time_format": "%b %-d, %Y" if grain == "P1D" else "%H:%M",
    }


def table_raw(columns: list[str], order_by: str, limit: int = 1000) -> dict[str, Any]:
    # A rank is not a quantity: no cell bar.
    config: dict[str, Any] = {"rank": {"showCellBars": False}} if "rank" in columns else {}
    for c in columns:
        if c in MONEY_COLUMNS:
            config[c] = {"d3NumberFormat": MONEY, "currencyFormat": CURRENCY}
        elif c in RATE_COLUMNS:
            config[c] = {"d3NumberFormat": PCT}
    return {
        "viz_type": "table",
        "query_mode": "raw",
        "all_columns": columns,
        "order_by_cols": [f'["{order_by}", false]'],
        "adhoc_filters": [],
        "row_limit": limit,
        "server_page_length": 50,
        "table_timestamp_format": "smart_date",
        "include_search": True,
        "show_cell_bars": True,
        "column_config": config,
    }


def top_table(ranking: str, columns: list[str]) -> dict[str, Any]:
    """The top 10 of a ranking, last 60 min. The rank filter bounds the rows, not the row limit: a table that
    returns as many rows as its limit gets Superset's warning icon ("limit reached") in its header."""
    return {
        **table_raw(columns, ranking, 100),
        "adhoc_filters": [{"clause": "WHERE", "expressionType": "SQL",
                           "sqlExpression": f"ranking = '{ranking}' and rank <= 10"}],
        "order_by_cols": ['["rank", true]'],
    }


MONEY = ",.2f"
PCT = ".1%"
MONEY_COLUMNS = {"gmv", "discounts", "net_revenue", "total_collected", "refunds", "revenue", "list_price", "price"}
RATE_COLUMNS = {"view_to_order_rate", "retention_rate", "conversion_rate", "dlq_share"}

# Readable names of the columns charts show (headers, axes, legends); others get theirs from the column name.
VERBOSE = {
    "event_date": "Day (UTC)",
    "session_date": "Day (UTC)",
    "minute": "Minute (UTC)",
    "event_type": "Event type",
    "utm_source": "UTM source",
    "length": "Session length",
    "cohort": "Cohort (week of first visit)",
    "week_number": "Weeks since first visit",
    "user_type": "New or returning",
    "name": "Product",
    "sku": "SKU",
    "list_price": "List price",
    "views": "Product views",
    "carts": "Cart adds",
    "units_sold": "Units sold",
    "returned_units": "Returned units",
    "view_to_order_rate": "View-to-order rate",
    "gmv": "GMV",
    "dlq_records": "DLQ records",
    "dlq_share": "DLQ share",
    "newest_event": "Newest event",
}


def verbose(col: str) -> str:
    return VERBOSE.get(col) or col.replace("_", " ").capitalize()
s = metric


def sum_(col: str, label: str | None = None) -> dict[str, Any]:
    return metric(label or col, f"SUM({col})")


# --- dashboards: title -> (slug, refresh seconds, rows of (chart key, title, dataset, width, params)) ---------
Chart = tuple[str, str, str, int, dict[str, Any]]

# A text beside the "as of" number: days are UTC, the last one is partial (a chart with key "markdown:...").
MARKDOWN_PARTIAL: Chart = (
    "markdown:partial-day", "", "", 9,
    {"viz_type": "markdown", "code": "**Days are UTC.** The newest day is *today so far*: partial until midnight."},
)

DASHBOARDS: list[tuple[str, str, int, list[list[Chart]]]] = [
    (
        "Right now",
        "right-now",
        10,
        [
            [
                ("rt_active_sessions", "Active sessions (last 5 min)", "rt_minutes", 3,
                 big_number_trend(s("active sessions", "MAX(active_sessions)"), "minute", "PT1M")),
                ("rt_orders_hour", "Orders, last 60 min", "rt_minutes", 3,
                 big_number_total(sum_("orders"), "orders placed in the last hour")),
                ("rt_revenue_hour", "Net revenue, last 60 min", "rt_minutes", 3,
                 big_number_total(sum_("net_revenue", "net revenue"), "net revenue in the last hour", MONEY)),
                ("rt_dlq_share", "DLQ share, last 60 min", "rt_minutes", 3,
                 big_number_total(
                     s("DLQ share", "SUM(dlq_records) * 1.0 / NULLIF(SUM(dlq_records + page_views + add_to_carts + checkouts + orders), 0)"),
                     "rejected records / all records", PCT)),
            ],
            [
                ("rt_events_per_minute", "Events per minute", "rt_events_per_minute", 6,
                 timeseries("echarts_timeseries_bar", "minute", [sum_("events")], "PT1M",
                            groupby=["event_type"], stack="Stack")),
                ("rt_sessions_per_minute", "Active sessions per minute", "rt_minutes", 6,
                 timeseries("echarts_timeseries_line", "minute",
                            [sum_("active_sessions", "active sessions"), sum_("sessions_started", "sessions started")], "PT1M")),
            ],
            [
                ("rt_orders_per_minute", "Orders per minute", "rt_minutes", 4,
                 timeseries("echarts_timeseries_bar", "minute", [sum_("orders")], "PT1M", **NARROW_MINUTES)),
                ("rt_revenue_per_minute", "Net revenue per minute", "rt_minutes", 4,
                 timeseries("echarts_timeseries_line", "minute", [sum_("net_revenue", "net revenue")], "PT1M",
                            money=True, **NARROW_MINUTES)),
                ("rt_dlq_per_minute", "DLQ records per minute", "rt_minutes", 4,
                 timeseries("echarts_timeseries_bar", "minute", [sum_("dlq_records", "DLQ records")], "PT1M",
                            **NARROW_MINUTES)),
            ],
            [
                ("rt_top_revenue", "Top products by revenue, last 60 min", "rt_top_products", 6,
                 top_table("revenue", ["rank", "name", "category", "revenue", "units"])),
                ("rt_top_views", "Top products by views, last 60 min", "rt_top_products", 6,
                 top_table("views", ["rank", "name", "category", "views"])),
            ],
        ],
    ),
    (
        "Daily business",
        "daily-business",
        0,
        [
            [
                ("db_as_of", "Data as of", "data_as_of", 3, as_of_number()),
                ("db_net_revenue", "Net revenue, newest day (partial if today)", "daily_revenue", 3,
                 big_number_trend(sum_("net_revenue", "net revenue"), "event_date", "P1D", MONEY)),
                ("db_orders", "Orders, newest day (partial if today)", "daily_revenue", 2,
                 big_number_trend(sum_("orders"), "event_date", "P1D")),
                ("db_aov_total", "Average order value (all days)", "daily_revenue", 2,
                 big_number_total(s("AOV", "SUM(net_revenue) / NULLIF(SUM(orders), 0)"), "net revenue / orders", MONEY)),
                ("db_refunds_total", "Refunds (all days)", "daily_revenue", 2,
                 big_number_total(sum_("refunds"), "refunded to customers", MONEY)),
            ],
            [
                ("db_revenue", "Revenue", "daily_revenue", 8,
                 timeseries("echarts_timeseries_line", "event_date",
                            [sum_("gmv", "GMV"), sum_("net_revenue", "net revenue"), sum_("total_collected", "total collected"),
                             sum_("refunds")], "P1D", money=True)),
                ("db_aov", "Average order value", "daily_revenue", 4,
                 timeseries("echarts_timeseries_line", "event_date",
                            [s("AOV", "SUM(net_revenue) / NULLIF(SUM(orders), 0)")], "P1D", money=True)),
            ],
            [
                ("db_orders_units", "Orders and units", "daily_revenue", 6,
                 timeseries("echarts_timeseries_bar", "event_date", [sum_("orders"), sum_("units")], "P1D")),
                ("db_refunds", "Refunds", "daily_revenue", 6,
                 timeseries("echarts_timeseries_bar", "event_date", [sum_("refunds")], "P1D", money=True)),
            ],
            [
                ("db_revenue_by_category", "Revenue by category", "daily_revenue_by_category", 12,
                 timeseries("echarts_timeseries_bar", "event_date", [sum_("revenue")], "P1D",
                            groupby=["category"], stack="Stack", money=True)),
            ],
        ],
    ),
    (
        "Funnel & sessions",
        "funnel-sessions",
        0,
        [
            [
                ("fs_as_of", "Data as of", "data_as_of", 3, as_of_number()),
                MARKDOWN_PARTIAL,
            ],
            [
                ("fs_funnel", "Funnel (all days)", "funnel_steps", 5,
                 {"viz_type": "funnel", "groupby": ["step"], "metric": sum_("sessions"), "adhoc_filters": [],
                  "row_limit": 10, "sort_by_metric": True, "show_labels": True, "show_legend": False,
                  # Superset 6.1's funnel reads its label types as numbers (5: name, value and percent); the
                  # name "key_value_percent" fell back to the step name alone.
                  "label_type": 5, "tooltip_label_type": 5, "number_format": "SMART_NUMBER"}),
                ("fs_daily_funnel", "Funnel steps per day", "daily_funnel", 7,
                 timeseries("echarts_timeseries_line", "session_date",
                            [sum_("sessions"), sum_("product_view_sessions", "viewed a product"),
                             sum_("cart_sessions", "added to cart"), sum_("checkout_sessions", "started checkout"),
                             sum_("order_sessions", "ordered")], "P1D")),
            ],
            [
                ("fs_conversion_daily", "Conversion rate per day", "daily_funnel", 6,
                 timeseries("echarts_timeseries_line", "session_date",
                            [s("conversion", "SUM(order_sessions) * 1.0 / NULLIF(SUM(sessions), 0)")], "P1D",
                            y_axis_format=PCT)),
                ("fs_session_length", "Session length", "session_length", 6,
                 categorical_bar("length", [sum_("sessions")], x_axis_sort_asc=True)),
            ],
            [
                ("fs_conv_device", "Conversion by device", "session_conversion", 4,
                 categorical_bar("device", [s("conversion", "SUM(order_sessions) * 1.0 / NULLIF(SUM(sessions), 0)")],
                                 y_axis_format=PCT)),
                ("fs_conv_country", "Conversion by country (top 10 by sessions)", "session_conversion", 4,
                 categorical_bar("country", [s("conversion", "SUM(order_sessions) * 1.0 / NULLIF(SUM(sessions), 0)")],
                                 y_axis_format=PCT, timeseries_limit_metric=sum_("sessions"), series_limit=10,
                                 row_limit=10, order_desc=True)),
                ("fs_conv_utm", "Conversion by UTM source", "session_conversion", 4,
                 categorical_bar("utm_source", [s("conversion", "SUM(order_sessions) * 1.0 / NULLIF(SUM(sessions), 0)")],
                                 y_axis_format=PCT)),
            ],
        ],
    ),
    (
        "Customers",
        "customers",
        0,
        [
            [
                ("cu_as_of", "Data as of", "data_as_of", 3, as_of_number()),
                MARKDOWN_PARTIAL,
            ],
            [
                ("cu_active_users", "Active users (DAU, WAU, MAU)", "active_users", 8,
                 timeseries("echarts_timeseries_line", "event_date",
                            [s("DAU", "MAX(dau)"), s("WAU", "MAX(wau)"), s("MAU", "MAX(mau)")], "P1D")),
                ("cu_dau", "Daily active users, newest day (partial if today)", "active_users", 4,
                 big_number_trend(s("DAU", "MAX(dau)"), "event_date", "P1D")),
            ],
            [
                ("cu_cohorts", "Cohort retention (weekly cohorts by first visit, share active N weeks later)", "cohort_retention", 7,
                 {"viz_type": "heatmap_v2", "x_axis": "week_number", "groupby": "cohort",
                  "metric": s("retention", "MAX(retention_rate)"), "adhoc_filters": [], "row_limit": 10000,
                  "normalize_across": "heatmap", "linear_color_scheme": "blue_white_yellow", "show_values": True,
                  "show_percentage": False, "show_legend": True, "sort_x_axis": "alpha_asc", "sort_y_axis": "alpha_asc",
                  "y_axis_format": ".0%", "value_bounds": [None, None], "bottom_margin": "auto", "left_margin": 100,
                  "xscale_interval": 1, "yscale_interval": 1}),
                ("cu_new_returning", "New vs returning users per day", "new_vs_returning", 5,
                 timeseries("echarts_timeseries_bar", "event_date", [sum_("users")], "P1D",
                            groupby=["user_type"], stack="Stack")),
            ],
        ],
    ),
    (
        "Products",
        "products",
        0,
        [
            [
                ("pr_top_revenue", "Top 10 products by revenue", "sku_360", 6,
                 categorical_bar("name", [sum_("revenue", "Revenue")], money=True, row_limit=10,
                                 timeseries_limit_metric=sum_("revenue", "Revenue"), order_desc=True,
                                 orientation="horizontal", x_axis_sort="Revenue", x_axis_sort_asc=True,
                                 **HORIZONTAL_ROOM)),
                ("pr_category_revenue", "Revenue by category", "sku_360", 6,
                 {"viz_type": "pie", "groupby": ["category"], "metric": sum_("revenue"), "adhoc_filters": [],
                  # 10 categories on a half-width chart: names outside the ring were cut ("shoe...", "ki") since
                  # Superset's outer labels use alignTo "none" with a 5 px bleed margin. The names go to a legend
                  # on the right (scrolls if it must), the ring carries only the percentage, and slices under 4 %
                  # carry none (show_labels_threshold: their name and share are in the legend and tooltip).
                  "row_limit": 100, "show_labels": True, "label_type": "percent", "number_format": MONEY,
                  "currency_format": CURRENCY, "labels_outside": False, "label_line": False,
                  "show_labels_threshold": 4, "outerRadius": 80, "innerRadius": 40, "donut": True,
                  "show_legend": True, "legendType": "scroll", "legendOrientation": "right", "legendMargin": 110}),
            ],
            [
                ("pr_category_conversion", "View-to-order rate by category", "sku_360", 12,
                 categorical_bar("category", [s("view to order", "SUM(orders) * 1.0 / NULLIF(SUM(views), 0)")],
                                 y_axis_format=PCT, x_axis_sort_asc=True)),
            ],
            [
                ("pr_sku_360", "All products (views, carts, orders, revenue, returns)", "sku_360", 12,
                 table_raw(["sku", "name", "category", "list_price", "views", "carts", "orders", "units_sold",
                            "revenue", "returned_units", "view_to_order_rate"], "revenue", 1000)),
            ],
        ],
    ),
]


# Colours of named series per dashboard. The funnel's labels are dark text (Superset's theme colour, with a white
# outline) on its segments: on the default scheme's navy and teal they were hard to read, so its steps get light
# tints of the same hues (relative luminance > 0.4; the bundle spec checks it).
LABEL_COLORS: dict[str, dict[str, str]] = {
    "funnel-sessions": {
        "1. sessions": "#8FD3E4",
        "2. viewed a product": "#AEB6E0",
        "3. added to cart": "#9EDDB9",
        "4. started checkout": "#FFC09F",
        "5. ordered": "#C9C9C9",
    },
}


# --- writers -------------------------------------------------------------------------------------------------
def database_yaml() -> dict[str, Any]:
    return {
        "database_name": "shop lake (DuckDB)",
        "sqlalchemy_uri": "duckdb:///:memory:",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True},
        "uuid": uid("database", DATABASE),
        "version": "1.0.0",
    }


TEMPORAL = ("DATE", "TIMESTAMP")


def dataset_yaml(conn: duckdb.DuckDBPyConnection, name: str, sql: str) -> dict[str, Any]:
    described = conn.execute(f"describe {sql}").fetchall()
    columns = [
        {
            "column_name": col,
            "verbose_name": verbose(col),
            "is_dttm": typ.startswith(TEMPORAL),
            "is_active": True,
            "type": typ,
            "groupby": True,
            "filterable": True,
            "expression": None,
            "description": None,
            "python_date_format": None,
            "extra": None,
        }
        for (col, typ, *_rest) in described
    ]
    dttm = next((c["column_name"] for c in columns if c["is_dttm"]), None)
    return {
        "table_name": name,
        "main_dttm_col": dttm,
        "description": None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": "main",
        "sql": sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "uuid": uid("dataset", name),
        "metrics": [
            {
                "metric_name": "count",
                "verbose_name": "Rows",
                "metric_type": "count",
                "expression": "COUNT(*)",
                "description": None,
                "d3format": None,
                "extra": None,
                "warning_text": None,
            }
        ]
        # Money sums carry the currency (shown as $1,234.50 wherever they are used); rates are percentages.
        + [
            {
                "metric_name": f"sum_{c['column_name']}",
                "verbose_name": verbose(c["column_name"]),
                "metric_type": "sum",
                "expression": f"SUM({c['column_name']})",
                "description": None,
                "d3format": MONEY,
                "currency": CURRENCY,
                "extra": None,
                "warning_text": None,
            }
            for c in columns
            if c["column_name"] in MONEY_COLUMNS
        ]
        + [
            {
                "metric_name": f"avg_{c['column_name']}",
                "verbose_name": verbose(c["column_name"]),
                "metric_type": "avg",
                "expression": f"AVG({c['column_name']})",
                "description": None,
                "d3format": PCT,
                "currency": None,
                "extra": None,
                "warning_text": None,
            }
            for c in columns
            if c["column_name"] in RATE_COLUMNS
        ],
        "columns": columns,
        "version": "1.0.0",
        "database_uuid": uid("database", DATABASE),
    }


def chart_yaml(key: str, title: str, dataset: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "slice_name": title,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": params["viz_type"],
        "params": {**params, "datasource": f"__{dataset}__"},
        "query_context": None,
        "cache_timeout": None,
        "uuid": uid("chart", key),
        "version": "1.0.0",
        "dataset_uuid": uid("dataset", dataset),
    }


def dashboard_yaml(title: str, slug: str, refresh: int, rows: list[list[Chart]]) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "parents": ["ROOT_ID"], "children": []},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
    }
    for i, row in enumerate(rows):
        row_id = f"ROW-{slug}-{i}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "id": row_id,
            "type": "ROW",
            "parents": ["ROOT_ID", "GRID_ID"],
            "children": [],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for key, chart_title, _dataset, width, params in row:
            if key.startswith("markdown:"):
                md_id = f"MARKDOWN-{slug}-{key.split(':', 1)[1]}"
                position[row_id]["children"].append(md_id)
                position[md_id] = {
                    "id": md_id,
                    "type": "MARKDOWN",
                    "parents": ["ROOT_ID", "GRID_ID", row_id],
                    "children": [],
                    "meta": {"code": params["code"], "width": width, "height": 30},
                }
                continue
            chart_id = f"CHART-{key}"
            position[row_id]["children"].append(chart_id)
            height = 30 if params["viz_type"].startswith("big_number") else 60 if params["viz_type"] == "table" else 50
            position[chart_id] = {
                "id": chart_id,
                "type": "CHART",
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "children": [],
                "meta": {"chartId": len(position), "uuid": uid("chart", key), "sliceName": chart_title, "width": width, "height": height},
            }
    return {
        "dashboard_title": title,
        "description": None,
        "css": "",
        "slug": slug,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": uid("dashboard", slug),
        "position": position,
        "metadata": {
            "refresh_frequency": refresh,
            "timed_refresh_immune_slices": [],
            "expanded_slices": {},
            "color_scheme": "supersetColors",
            "label_colors": LABEL_COLORS.get(slug, {}),
            "shared_label_colors": [],
            "color_scheme_domain": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": [],
            "chart_configuration": {},
            "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}, "chartsInScope": []},
            "default_filters": "{}",
        },
        "version": "1.0.0",
    }


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # SQL reads best as a literal block.
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    # Strings that need quotes get double quotes (biome's style).
    analysis = dumper.analyze_scalar(value)
    plain = value != "" and analysis.allow_block_plain and analysis.allow_flow_plain
    if plain and yaml.safe_load(value) != value:  # would read back as another type, e.g. "null" or "1.0.0"
        plain = False
    style = None if plain else "'" if '"' in value and "'" not in value else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as biome formats YAML, so `bun run format` leaves the bundle alone."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


_Dumper.add_representer(str, _str)


def dump(path: str, data: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("# Generated by superset/tools/build_bundle.py; edit the spec there, not this file.\n")
        yaml.dump(data, f, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def main() -> None:
    conn = duckdb.connect(":memory:")
    missing = shop_lake.create_views(conn)
    if missing:
        sys.exit(f"views without data under {shop_lake.data_dir()}: {missing}; run the pipeline and gold first")
    shutil.rmtree(BUNDLE, ignore_errors=True)
    dump(os.path.join(BUNDLE, "metadata.yaml"),
         {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-11-25T00:00:00+00:00"})
    dump(os.path.join(BUNDLE, "databases", f"{DATABASE}.yaml"), database_yaml())
    for name, sql in DATASETS.items():
        dump(os.path.join(BUNDLE, "datasets", DATABASE, f"{name}.yaml"), dataset_yaml(conn, name, sql))
    for title, slug, refresh, rows in DASHBOARDS:
        for key, chart_title, dataset, _w, params in (c for row in rows for c in row):
            if key.startswith("markdown:"):
                continue
            if dataset not in DATASETS:
                sys.exit(f"chart {key} uses unknown dataset {dataset}")
            dump(os.path.join(BUNDLE, "charts", f"{key}.yaml"), chart_yaml(key, chart_title, dataset, params))
        dump(os.path.join(BUNDLE, "dashboards", f"{slug}.yaml"), dashboard_yaml(title, slug, refresh, rows))
    print(f"wrote {BUNDLE}: {len(DATASETS)} datasets, "
          f"{sum(1 for _t, _s, _f, rows in DASHBOARDS for r in rows for c in r if not c[0].startswith('markdown:'))} charts, {len(DASHBOARDS)} dashboards")


if __name__ == "__main__":
    main()
