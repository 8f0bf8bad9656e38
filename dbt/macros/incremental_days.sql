{#
  Incremental models keep `_ingested_at`, the newest Silver `ingested_at` behind each row. A run rebuilds every
  day (`event_date`) that got rows ingested after that watermark minus `rebuild_margin_minutes`, as a whole
  (delete+insert by day): a late event rebuilds its own day, a rerun with nothing new rebuilds nothing.
#}
{% macro ingested_watermark() -%}
  (select coalesce(max(_ingested_at), TIMESTAMP '1970-01-01') - to_minutes({{ var('rebuild_margin_minutes') }}::BIGINT) from {{ this }})
{%- endmacro %}

{# The event days with new rows since the watermark, over every Silver event table. #}
{% macro changed_event_days() -%}
  (select distinct event_date from {{ ref('stg_events') }} where ingested_at > {{ ingested_watermark() }})
{%- endmacro %}
