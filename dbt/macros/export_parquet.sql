{#
  Post-hook of every mart: writes the model to $DATA_DIR/gold/dbt/<model>.parquet. DuckDB writes over an
  existing file through a temporary file and a rename, so readers see the old file or the new one, never half.
#}
{% macro export_parquet() -%}
  {%- set path = env_var('DATA_DIR') ~ '/gold/dbt/' ~ this.identifier ~ '.parquet' -%}
  copy (select * from {{ this }}) to '{{ path }}' (format parquet, compression zstd, use_tmp_file true)
{%- endmacro %}
