with

changes_to_process as (
    {{ rows_of_orders_loaded_since_last_run(ref('int_order_status_changes'), 'last_load_id') }}
),

intervals as (
    select
        order_id,
        order_status,
        change_sequence,
        last_updated_at as valid_from,
        lead(last_updated_at) over by_sequence as valid_to,
        max(load_id) over (partition by order_id) as last_load_id
    from changes_to_process
    window by_sequence as (partition by order_id order by change_sequence)
),

final as (
    select
        order_id,
        order_status,
        valid_from,
        valid_to,
        change_sequence,
        last_load_id,
        valid_to is null as is_current
    from intervals
)

select * from final
