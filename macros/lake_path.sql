{# A path in the lake (LAKE_URL, dbt's `external_root`), for queries that read exported files directly. #}
{% macro lake_path(subpath) -%}
    {{ adapter.external_root().rstrip('/') }}/{{ subpath }}
{%- endmacro %}
