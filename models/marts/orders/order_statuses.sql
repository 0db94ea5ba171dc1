{#
    The order statuses the project knows, in lifecycle order: reference data written as a model
    (not a seed), so a bare `dbt run` builds it with everything that depends on it.
#}

with

lifecycle as (
    select
        statuses.order_status,
        statuses.lifecycle_rank,
        statuses.description
    from (
        values
        ('Pending', 1, 'Placed and waiting to be processed'),
        ('Processing', 2, 'Being picked and packed'),
        ('Backordered', 3, 'Waiting for stock'),
        ('Shipped', 4, 'Handed to the carrier'),
        ('Delivered', 5, 'Received by the customer'),
        ('Cancelled', 6, 'Cancelled before delivery')
    ) as statuses (order_status, lifecycle_rank, description)
),

final as (
    select
        cast(order_status as {{ type_string() }}) as order_status,
        cast(lifecycle_rank as integer) as lifecycle_rank,
        cast(description as {{ type_string() }}) as description
    from lifecycle
)

select * from final
