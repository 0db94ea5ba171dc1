-- sqlfluff:indentation:template_blocks_indent:false
{{ config(enabled=orders_capture() == 'binlog') }}

with

source as (
    -- every column, NULL where dlt has not created it yet
    {{ source_columns_or_nulls('orders_db', 'orders_changes') }}
),

renamed as (
    select
        operation,
        cast(before__order_id as integer) as before_order_id,
        before__order_status as before_order_status,
        cast(before__last_updated as timestamp) as before_last_updated_at,
        cast(after__order_id as integer) as after_order_id,
        after__order_status as after_order_status,
        cast(after__last_updated as timestamp) as after_last_updated_at,
        binlog_file,
        binlog_position,
        row_in_event,
        _dlt_load_id as load_id
    from source
)

select * from renamed
