-- For orders that were backordered, how long did they wait until they shipped?
with

history as (
    select * from {{ ref('order_status_history') }}
),

backordered as (
    select
        order_id,
        min(valid_from) as backordered_at
    from history
    where order_status = 'Backordered'
    group by order_id
),

shipped as (
    select
        order_id,
        min(valid_from) as shipped_at
    from history
    where order_status = 'Shipped'
    group by order_id
)

select
    count(*) as orders,
    round(avg(date_diff('minute', backordered.backordered_at, shipped.shipped_at)) / 60, 1) as avg_hours,
    round(median(date_diff('minute', backordered.backordered_at, shipped.shipped_at)) / 60, 1) as median_hours,
    round(max(date_diff('minute', backordered.backordered_at, shipped.shipped_at)) / 60, 1) as max_hours
from backordered
inner join shipped on backordered.order_id = shipped.order_id
where shipped.shipped_at > backordered.backordered_at
