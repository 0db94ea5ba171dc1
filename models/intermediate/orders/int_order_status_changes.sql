{#
    Every distinct status change with its place in the order's sequence. At one `LastUpdated`,
    the status later in the lifecycle (the `order_statuses` seed) comes last and so wins; a
    status the seed does not know ranks after all known ones, alphabetically among its kind.
    A table, incremental like the order marts: a run sequences again only the orders with new rows.
#}

with

status_changes as (
    {{ rows_of_orders_loaded_since_last_run(ref('int_order_rows_deduplicated'), 'load_id') }}
),

order_statuses as (
    select * from {{ ref('order_statuses') }}
),

ranked as (
    select
        status_changes.order_id,
        status_changes.order_status,
        status_changes.last_updated_at,
        status_changes.load_id,
        coalesce(order_statuses.lifecycle_rank, 1000) as lifecycle_rank
    from status_changes
    left join order_statuses
        on status_changes.order_status = order_statuses.order_status
),

sequenced as (
    select
        *,
        row_number() over (
            partition by order_id
            order by last_updated_at, lifecycle_rank, order_status
        ) as change_sequence
    from ranked
)

select * from sequenced
