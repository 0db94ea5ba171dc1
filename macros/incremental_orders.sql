{#
    The rows of `relation` of every order that has a row in a load this incremental model has not
    processed yet, so that each such order is recomputed from its whole history and late rows re-cut
    it correctly. On a full build: every row. A load is processed once its batch (`loads`, the
    `int_order_loads` model: the dbt run that first saw it) is at most the newest batch among the
    load ids in `watermark`, the model's own column: progress follows the loads seen, never the
    order of load ids, which a loader's clock can step back. Which orders have new rows is read
    from `int_order_rows` (a view: one scan of the raw table), and every order model is a table, so no run
    re-aggregates the whole raw table. Both are referenced before the branch, so that dbt's parse
    (never incremental) records them as the model's dependencies.
#}
{% macro rows_of_orders_loaded_since_last_run(relation, watermark) %}
    {%- set order_rows = ref('int_order_rows') %}
    {%- set loads = ref('int_order_loads') %}
    {%- if is_incremental() %}
    select *
    from {{ relation }}
    where order_id in (
        select order_id
        from {{ order_rows }}
        where
            last_updated_at is not null
            and load_id in (
                select load_id
                from {{ loads }}
                where batch > (
                    select coalesce(max(batch), 0)
                    from {{ loads }}
                    where load_id in (select {{ watermark }} from {{ this }})
                )
            )
    )
    {%- else %}
    select * from {{ relation }}
    {%- endif %}
{% endmacro %}


{#
    On an incremental run: deletes from this model the orders that have no row with a `LastUpdated`
    in `int_order_rows` any more (the source was reloaded with `--full-refresh` without them), so the
    model equals a full build.
#}
{% macro delete_orders_no_longer_in() %}
    {%- set order_rows = ref('int_order_rows') %}
    {%- if is_incremental() %}
    delete from {{ this }}
    where order_id not in (select order_id from {{ order_rows }} where last_updated_at is not null)
    {%- endif %}
{% endmacro %}
