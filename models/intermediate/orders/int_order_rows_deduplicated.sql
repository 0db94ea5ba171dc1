{#
    Identical rows of `Orders` (same order, status and `LastUpdated`) are one status change:
    the book's chapter 6 de-duplication. Each keeps the load id of its first load. A row without
    `LastUpdated` has no place in an order's history: it is left out here (it stays in raw.orders,
    and the `not_null` test on the staging model warns about it). A table, incremental like the
    order marts: a run de-duplicates again only the orders with rows loaded since the last.
#}

with

order_rows as (
    {{ rows_of_orders_loaded_since_last_run(ref('int_order_rows'), 'load_id') }}
),

deduplicated as (
    select
        order_id,
        order_status,
        last_updated_at,
        min(load_id) as load_id
    from order_rows
    where last_updated_at is not null
    group by order_id, order_status, last_updated_at
)

select * from deduplicated
