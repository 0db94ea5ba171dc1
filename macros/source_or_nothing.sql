-- sqlfluff:indentation:template_blocks_indent:false
{#
    `select * from` a source table, or, while the loader has not created it yet, no rows of the
    same columns, so the models downstream build on an empty warehouse too. dlt creates a table
    with its first row: `raw.logs_rejected` waits for the first malformed record, and a warehouse
    loaded with one source (`python -m ingestion run --source orders`) has none of the other's.
    The columns are the source's, with the `data_type` each has in its sources file.
#}
{% macro source_or_nothing(source_name, table_name) %}
{%- set relation = source(source_name, table_name) -%}
{%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
{{ no_rows_of(source_column_types(source_name, table_name)) }}
{%- else -%}
select * from {{ relation }}
{%- endif -%}
{% endmacro %}

{#
    The same, column by column: each column of the sources file, NULL where dlt has not created it
    yet (dlt adds a column with the first row that has a value for it). On both engines: Spark SQL
    has no `union all by name`.
#}
{% macro source_columns_or_nulls(source_name, table_name) %}
{%- set relation = source(source_name, table_name) -%}
{%- if not execute -%}
select * from {{ relation }}
{%- else -%}
{%- set columns = source_column_types(source_name, table_name) -%}
{%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
{%- if existing is none -%}
{{ no_rows_of(columns) }}
{%- else -%}
{%- set present = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
{%- set selected = [] -%}
{%- for name, data_type in columns.items() -%}
{%- do selected.append((name if name in present else 'cast(null as ' ~ data_type ~ ')') ~ ' as ' ~ name) -%}
{%- endfor %}
select {{ selected | join(', ') }}
from {{ relation }}
{%- endif -%}
{%- endif -%}
{% endmacro %}

{% macro no_rows_of(columns) %}
select
{%- for name, data_type in columns.items() %}
    cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
where false
{%- endmacro %}

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
