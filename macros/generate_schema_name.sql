{#
    Custom schemas are used as written (`staging`, not `main_staging`), so user-facing
    models stay in DuckDB's default schema and `select * from logs` just works.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
