with

source as (
    select * from {{ source('orders_db', 'orders') }}
),

renamed as (
    select
        cast(order_id as integer) as order_id,
        order_status,
        cast(last_updated as timestamp) as last_updated_at,
        _dlt_load_id as load_id
    from source
),

deduplicated as (
    select
        order_id,
        order_status,
        last_updated_at,
        min(load_id) as load_id
    from renamed
    group by order_id, order_status, last_updated_at
)

select * from deduplicated
