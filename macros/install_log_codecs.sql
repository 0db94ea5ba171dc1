{# `dbt run-operation install_log_codecs`: create the log codec macros in the warehouse without a run. #}
{% macro install_log_codecs() %}
    {% do run_query(create_log_codecs()) %}
    {{ log("log codecs installed: compress_/restore_user_id, compress_/restore_in_date, compress_/restore_method", info=true) }}
{% endmacro %}
