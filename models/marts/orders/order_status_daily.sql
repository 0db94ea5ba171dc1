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
    {{ days_between(
        '(select cast(min(valid_from) as date) from history)',
        '(select cast(max(valid_from) as date) from history)',
        'status_date'
    ) }}
),

statuses as (
    select distinct order_status from history
),

{#
    An order is in a status at the end of a day when it entered it by then and had not left it:
    per status, the running sum of entries less exits (`valid_to` is always a later `valid_from`,
    so every exit falls inside the days). One pass over the history, however many days.
#}
moves as (
    select
        cast(valid_from as date) as status_date,
        order_status,
        1 as moved
    from history
    union all
    select
        cast(valid_to as date) as status_date,
        order_status,
        -1 as moved
    from history
    where valid_to is not null
),

net_moves_per_day as (
    select
        status_date,
        order_status,
        sum(moved) as net_moves
    from moves
    group by all
),

in_status_at_end_of_day as (
    select
        days.status_date,
        statuses.order_status,
        sum(coalesce(net_moves_per_day.net_moves, 0)) over (
            partition by statuses.order_status
            order by days.status_date
            rows between unbounded preceding and current row
        ) as orders_in_status
    from days
    cross join statuses
    left join net_moves_per_day
        on
            days.status_date = net_moves_per_day.status_date
            and statuses.order_status = net_moves_per_day.order_status
),

entered as (
    select
        cast(history.valid_from as date) as status_date,
        history.order_status,
        count(distinct history.order_id) as orders_entering_status,
        avg(
            {{ datediff('orders.first_updated_at', 'history.valid_from', 'second') }}
        ) / 3600.0 as avg_hours_since_first_status
    from history
    inner join orders on history.order_id = orders.order_id
    group by all
),

final as (
    select
        in_status_at_end_of_day.status_date,
        in_status_at_end_of_day.order_status,
        cast(in_status_at_end_of_day.orders_in_status as bigint) as orders_in_status,
        coalesce(entered.orders_entering_status, 0) as orders_entering_status,
        round(entered.avg_hours_since_first_status, 2) as avg_hours_since_first_status
    from in_status_at_end_of_day
    left join entered
        on
            in_status_at_end_of_day.status_date = entered.status_date
            and in_status_at_end_of_day.order_status = entered.order_status
)

select * from final
