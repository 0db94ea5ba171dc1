{#
    dbt's `not_null` and `unique` tests, except that on a source table the loader has not created
    yet (a warehouse loaded with one source: `python -m ingestion run --source orders`) they read
    no rows, as the models do (macros/source_or_nothing.sql), instead of failing the build and
    skipping everything downstream. On a table that exists they are dbt's own.
#}
{% macro default__test_not_null(model, column_name) %}
    {%- if not_loaded_yet(model) %}
        select null as {{ column_name }} where false
    {%- else %}
        select {{ '*' if should_store_failures() else column_name }}
        from {{ model }}
        where {{ column_name }} is null
    {%- endif %}
{% endmacro %}

{% macro default__test_unique(model, column_name) %}
    {%- if not_loaded_yet(model) %}
        select
            null as unique_field,
            0 as n_records
        where false
    {%- else %}
        select
            {{ column_name }} as unique_field,
            count(*) as n_records
        from {{ model }}
        where {{ column_name }} is not null
        group by {{ column_name }}
        having count(*) > 1
    {%- endif %}
{% endmacro %}

{% macro not_loaded_yet(model) %}
    {%- if not execute or model is string -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(adapter.get_relation(model.database, model.schema, model.identifier) is none) }}
{% endmacro %}
