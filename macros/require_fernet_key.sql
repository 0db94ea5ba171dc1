{#
    A pre-hook of the models that decrypt: stops them, before any Python runs, with the one line
    that says what is wrong with FERNET_KEY (`fernet_key_problem()`, from transforms/plugins/log_keys.py).
#}
{% macro require_fernet_key() %}
    {%- if target.type == 'duckdb' -%}
        select error(fernet_key_problem()) where fernet_key_problem() <> ''
    {%- endif -%}
{% endmacro %}
