with

history as (
    select * from {{ ref('order_status_history') }}
),

orders as (
    select
        order_id,
        first_updated_at
    from {{ ref('orders') }}
),

days as (
    select cast(generate_series as date) as status_date
    from generate_series(
        (select cast(min(valid_from) as date) from history),
        (select cast(max(valid_from) as date) from history),
        interval 1 day
    )
),

statuses as (
    select distinct order_status from history
),

in_status_at_end_of_day as (
    select
        days.status_date,
        history.order_status,
        count(*) as orders_in_status
    from days
    inner join history
        on
            history.valid_from < days.status_date + interval 1 day
            and (history.valid_to is null or history.valid_to >= days.status_date + interval 1 day)
    group by all
),

entered as (
    select
        cast(history.valid_from as date) as status_date,
        history.order_status,
        count(distinct history.order_id) as orders_entering_status,
        avg(date_diff('second', orders.first_updated_at, history.valid_from)) / 3600.0 as avg_hours_since_first_status
    from history
    inner join orders on history.order_id = orders.order_id
    group by all
),

final as (
    select
        days.status_date,
        statuses.order_status,
        coalesce(in_status_at_end_of_day.orders_in_status, 0) as orders_in_status,
        coalesce(entered.orders_entering_status, 0) as orders_entering_status,
        round(entered.avg_hours_since_first_status, 2) as avg_hours_since_first_status
    from days
    cross join statuses
    left join in_status_at_end_of_day
        on
            days.status_date = in_status_at_end_of_day.status_date
            and statuses.order_status = in_status_at_end_of_day.order_status
    left join entered
        on
            days.status_date = entered.status_date
            and statuses.order_status = entered.order_status
)

select * from final
