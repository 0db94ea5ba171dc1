{# A path in the lake (LAKE_URL, dbt's `external_root`), for queries that read exported files directly. #}
{% macro lake_path(subpath) -%}
    {{ adapter.dispatch('lake_path')(subpath) }}
{%- endmacro %}

{% macro default__lake_path(subpath) -%}
    {{ adapter.external_root().rstrip('/') }}/{{ subpath }}
{%- endmacro %}

{# dbt-spark has no `external_root`: the lake is LAKE_URL, which `python -m warehouse spark` makes absolute. #}
{% macro spark__lake_path(subpath) -%}
    {{ env_var('LAKE_URL', 'data/lake').rstrip('/') }}/{{ subpath }}
{%- endmacro %}
