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
