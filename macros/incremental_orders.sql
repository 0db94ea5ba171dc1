{#
    The rows of `changes` (status changes) of every order that has a row loaded since this
    incremental model's last run (by dlt load id, kept in the model's `last_load_id`), with each
    such order's whole history, so late rows re-cut the order correctly. On a full build: every order.
#}
{% macro changes_of_orders_loaded_since_last_run(changes) %}
    {%- if is_incremental() %}
    select *
    from {{ changes }}
    where order_id in (
        select order_id
        from {{ changes }}
        where load_id > (select coalesce(max(last_load_id), '') from {{ this }})
    )
    {%- else %}
    select * from {{ changes }}
    {%- endif %}
{% endmacro %}


{#
    On an incremental run: deletes from this model the orders that have no row in `changes` any more
    (the source was reloaded with `--full-refresh` without them), so the model equals a full build.
#}
{% macro delete_orders_no_longer_in(changes) %}
    {%- if is_incremental() %}
    delete from {{ this }} where order_id not in (select order_id from {{ changes }})
    {%- endif %}
{% endmacro %}
