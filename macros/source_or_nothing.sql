{#
    `select * from` a source table, or, while the loader has not created it yet, no rows of the
    same columns, so the models downstream build on an empty warehouse too. dlt creates a table
    with its first row: `raw.logs_rejected` waits for the first malformed record, and a warehouse
    loaded with one source (`python -m ingestion run --source orders`) has none of the other's.
    The columns are the source's, with the `data_type` each has in its sources file, unless given.
#}
{% macro source_or_nothing(source_name, table_name, columns=none) %}
{%- set relation = source(source_name, table_name) -%}
{%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
{%- if columns is none -%}
{%- set columns = source_column_types(source_name, table_name) -%}
{%- endif %}
select
{%- for name, data_type in columns.items() %}
    cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
where false
{%- else -%}
select * from {{ relation }}
{%- endif -%}
{% endmacro %}

{% macro source_column_types(source_name, table_name) %}
{%- set found = {} -%}
{%- for node in graph.sources.values() if node.source_name == source_name and node.name == table_name -%}
{%- for name, column in node.columns.items() -%}
{%- if not column.data_type -%}
{{ exceptions.raise_compiler_error(source_name ~ "." ~ table_name ~ "." ~ name ~ " needs a data_type") }}
{%- endif -%}
{%- do found.update({name: column.data_type}) -%}
{%- endfor -%}
{%- endfor -%}
{{ return(found) }}
{% endmacro %}
