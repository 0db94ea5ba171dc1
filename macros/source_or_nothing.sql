{#
    `select * from` a source table, or, while the loader has not created it yet (dlt creates a
    table with its first row: `raw.logs_rejected` waits for the first malformed record), no rows
    of the same columns, so the models downstream build on an empty warehouse too.
#}
{% macro source_or_nothing(source_name, table_name, columns) %}
{%- set relation = source(source_name, table_name) -%}
{%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
select
{%- for name, data_type in columns.items() %}
    cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
where false
{%- else -%}
select * from {{ relation }}
{%- endif -%}
{% endmacro %}
