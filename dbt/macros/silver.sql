{#
  A Silver table as a relation: its Parquet files (the `silver` source), or, while the table has no file yet
  (a young lake: no return so far), an empty relation with the source's columns, so every model still builds.
#}
{% macro silver(name) -%}
  {%- set src = source('silver', name) -%}
  {%- if execute -%}
    {%- set pattern = env_var('DATA_DIR') ~ '/silver/' ~ name ~ '/*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- if found == 0 -%}
      {%- set node = graph.sources['source.shop_pulse.silver.' ~ name] -%}
      (select {% for c in node.columns.values() %}null::{{ c.data_type }} as {{ c.name }}{{ ", " if not loop.last }}{% endfor %} where false)
    {%- else -%}
      {{ src }}
    {%- endif -%}
  {%- else -%}
    {{ src }}
  {%- endif -%}
{%- endmacro %}
