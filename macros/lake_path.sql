{# A path under the lake (LAKE_URL), for queries that read the exported files directly. #}
{% macro lake_path(subpath) -%}
    {{ env_var('LAKE_URL', 'data/lake').rstrip('/') }}/{{ subpath }}
{%- endmacro %}
