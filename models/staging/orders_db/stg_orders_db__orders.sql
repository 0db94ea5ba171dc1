{{ config(enabled=orders_capture() != 'binlog') }}

with

source as (
    {{ source_or_nothing('orders_db', 'orders') }}
),

renamed as (
    select
        cast(order_id as integer) as order_id,
        order_status,
        cast(last_updated as timestamp) as last_updated_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
