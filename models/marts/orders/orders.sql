with

changes_to_process as (
    {{ rows_of_orders_loaded_since_last_run(ref('int_order_status_changes'), 'last_load_id') }}
),

per_order as (
    select
        order_id,
        max_by(order_status, change_sequence) as order_status,
        max(last_updated_at) as last_updated_at,
        min(last_updated_at) as first_updated_at,
        count(*) as status_changes,
        max(load_id) as last_load_id
    from changes_to_process
    group by order_id
)

select * from per_order
