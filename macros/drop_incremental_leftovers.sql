{#
    dbt-duckdb 1.11 builds the new rows of an incremental *Python* model into a table
    `<model>__dbt_tmp<timestamp>` next to the model and does not drop it afterwards. This
    post-hook drops those leftovers so the warehouse shows only real tables.
#}
{% macro drop_incremental_leftovers() %}
    {# The `spark` target's `logs` is a SQL model: nothing is left behind there. #}
    {% if not execute or target.type != 'duckdb' %}{% do return('') %}{% endif %}
    {% set leftovers = run_query(
        "select table_name from information_schema.tables"
        ~ " where table_schema = '" ~ this.schema ~ "'"
        ~ " and table_name like '" ~ this.identifier ~ "\\_\\_dbt\\_tmp%' escape '\\'"
    ) %}
    {% for name in leftovers.columns[0].values() %}
        {% do run_query("drop table if exists " ~ adapter.quote(this.schema) ~ "." ~ adapter.quote(name)) %}
    {% endfor %}
{% endmacro %}
