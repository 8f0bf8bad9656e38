{#
  Post-hook of every mart: writes the model to $DATA_DIR/gold/dbt/<model>.parquet. DuckDB writes
  tmp_<model>.parquet and renames it over the old file, so a reader opening <model>.parquet by name sees the old
  file or the new one, never half of one.
#}
{% macro export_parquet() -%}
  {%- set path = env_var('DATA_DIR') ~ '/gold/dbt/' ~ this.identifier ~ '.parquet' -%}
  copy (select * from {{ this }}) to '{{ path }}' (format parquet, compression zstd, use_tmp_file true)
{%- endmacro %}
