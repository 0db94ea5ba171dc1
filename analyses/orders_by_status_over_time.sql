-- How many orders were in each status at the end of each day?
pivot (
    select
        status_date,
        order_status,
        orders_in_status
    from {{ ref('order_status_daily') }}
)
on order_status
using sum(orders_in_status)
order by status_date
