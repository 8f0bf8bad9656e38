{# The listed columns together identify one row (no dbt_utils: `dbt deps` would need a package hub this project does not reach). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
