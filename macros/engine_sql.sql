{#
    The few places where DuckDB's SQL and Spark SQL differ, as dispatched macros: each model is
    written once and runs on both targets (`dev`, DuckDB; `spark`). dbt's own cross-database
    macros (`dbt.datediff`, `dbt.type_string`, …) cover the rest.
#}

{# `YYYYmmddHHMMSS` text (the log API's `logtimestamp`) as a timestamp; NULL for text that is not such a time. #}
{% macro compact_timestamp(column) %}
    {{- return(adapter.dispatch('compact_timestamp')(column)) -}}
{% endmacro %}

{% macro default__compact_timestamp(column) -%}
    try_strptime({{ column }}, '%Y%m%d%H%M%S')
{%- endmacro %}

{% macro spark__compact_timestamp(column) -%}
    try_to_timestamp({{ column }}, 'yyyyMMddHHmmss')
{%- endmacro %}

{#- A raw log record's three fields as the JSON object the API sent them in. -#}
{% macro log_record_json(record_id, logtimestamp, data) %}
    {{- return(adapter.dispatch('log_record_json')(record_id, logtimestamp, data)) -}}
{% endmacro %}

{% macro default__log_record_json(record_id, logtimestamp, data) -%}
    cast(json_object('recordId', {{ record_id }}, 'logtimestamp', {{ logtimestamp }}, 'data', {{ data }}) as varchar)
{%- endmacro %}

{% macro spark__log_record_json(record_id, logtimestamp, data) -%}
    to_json(named_struct('recordId', {{ record_id }}, 'logtimestamp', {{ logtimestamp }}, 'data', {{ data }}))
{%- endmacro %}


{# A dlt load id (Unix seconds, as text) as the time of the load. #}
{% macro dlt_load_time(column) %}
    {{- return(adapter.dispatch('dlt_load_time')(column)) -}}
{% endmacro %}

{% macro default__dlt_load_time(column) -%}
    to_timestamp(cast({{ column }} as double))
{%- endmacro %}

{% macro spark__dlt_load_time(column) -%}
    timestamp_seconds(cast({{ column }} as double))
{%- endmacro %}


{# One row per day from `first_day` to `last_day` (date expressions), in a column `name`. #}
{% macro days_between(first_day, last_day, name) %}
    {{- return(adapter.dispatch('days_between')(first_day, last_day, name)) -}}
{% endmacro %}

{% macro default__days_between(first_day, last_day, name) -%}
    select cast(generate_series as date) as {{ name }}
    from generate_series({{ first_day }}, {{ last_day }}, interval 1 day)
{%- endmacro %}

{% macro spark__days_between(first_day, last_day, name) -%}
    select explode(sequence({{ first_day }}, {{ last_day }}, interval 1 day)) as {{ name }}
{%- endmacro %}


{# A struct of `columns` (expressions), which compares field by field: the order of `max_by`'s ties. #}
{% macro struct_of(columns) %}
    {{- return(adapter.dispatch('struct_of')(columns)) -}}
{% endmacro %}

{% macro default__struct_of(columns) -%}
    struct_pack({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__struct_of(columns) -%}
    struct({{ columns | join(', ') }})
{%- endmacro %}


{# One row for each of 0 .. `count` - 1, in a `select` list (a table function on both engines). #}
{% macro each_number_below(count) %}
    {{- return(adapter.dispatch('each_number_below')(count)) -}}
{% endmacro %}

{% macro default__each_number_below(count) -%}
    unnest(range({{ count }}))
{%- endmacro %}

{% macro spark__each_number_below(count) -%}
    explode(sequence(0, {{ count }} - 1))
{%- endmacro %}
