{#
    On the `spark` target, dbt runs in the SparkSession that `python -m warehouse spark` (make spark)
    starts: it registers the lake's raw tables and the decryption UDF first. A plain `dbt … --target
    spark` has neither; this on-run-start check stops it with one line saying what to run instead.
#}
{% macro check_engine_session() %}
    {{- return(adapter.dispatch('check_engine_session')()) -}}
{% endmacro %}

{% macro default__check_engine_session() %}
    {% do return('') %}
{% endmacro %}

{% macro spark__check_engine_session() %}
    {% if execute %}
        {% set registered = run_query("show user functions like 'decrypt_log_token'") %}
        {% if registered | length == 0 %}
            {% do exceptions.raise_compiler_error(
                "the spark target runs in the session `python -m warehouse spark` starts (`make spark`), "
                ~ "which registers the lake's raw tables and the decryption UDF: run `make spark ARGS=\""
                ~ "build\"` (or `.venv/bin/python -m warehouse spark build`)"
            ) %}
        {% endif %}
    {% endif %}
    {% do return('') %}
{% endmacro %}
