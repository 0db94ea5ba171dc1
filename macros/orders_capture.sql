{#
    How the loader reads `Orders`: `timestamp` (by `LastUpdated`, the default) or `binlog` (every
    change, from the binary log), as ORDERS_CAPTURE says. The models read it here; the sources' YAML,
    where dbt offers no macros, reads the variable itself.
#}
{% macro orders_capture() %}
    {{- return(env_var('ORDERS_CAPTURE', 'timestamp') | lower) -}}
{% endmacro %}
