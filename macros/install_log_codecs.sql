{# `dbt run-operation install_log_codecs`: create the log codec macros in the warehouse without a run. #}
{% macro install_log_codecs() %}
    {% do run_query(create_log_codecs()) %}
    {{ log("log codecs installed: compress_/restore_ user_id, in_date and method", info=true) }}
{% endmacro %}
