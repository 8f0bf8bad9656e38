{#
  Incremental models keep `_ingested_at`, the newest Silver `ingested_at` behind each row. A run rebuilds every
  day (`event_date`) that got rows ingested after that watermark minus `rebuild_margin_minutes`, as a whole
  (delete+insert by day): a late event rebuilds its own day, a rerun with nothing new rebuilds nothing.
  The days are looked up when the model compiles and written into its SQL as DATE literals, so DuckDB reads
  only those days' hive partitions.
#}
{% macro ingested_watermark() -%}
  (select coalesce(max(_ingested_at), TIMESTAMP '1970-01-01') - to_minutes({{ var('rebuild_margin_minutes') }}::BIGINT) from {{ this }})
{%- endmacro %}

{# The dates a query returns, as 'YYYY-MM-DD' strings (none while dbt only parses). #}
{% macro date_values(sql) -%}
  {%- do return((run_query(sql).columns[0].values() | map('string') | list) if execute else []) -%}
{%- endmacro %}

{# The dates a query returns (or a list of them), as a SQL list of DATE literals; `(NULL::DATE)` matches nothing. #}
{% macro date_list(sql_or_days) -%}
  {%- set days = date_values(sql_or_days) if sql_or_days is string else sql_or_days -%}
  {%- if days | length == 0 -%}
    (NULL::DATE)
  {%- else -%}
    ({% for d in days %}DATE '{{ d }}'{{ ", " if not loop.last }}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{# The event days with rows ingested since the watermark, over every Silver event table. #}
{% macro changed_days_sql() -%}
  select distinct event_date from {{ ref('stg_events') }} where ingested_at > {{ ingested_watermark() }}
{%- endmacro %}

{% macro changed_days() -%}
  {{ date_list(changed_days_sql() ~ ' order by 1') }}
{%- endmacro %}
