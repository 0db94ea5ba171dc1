-- sqlfluff:indentation:template_blocks_indent:false
{#
    The rows of `Orders`, one per source row: as read by `LastUpdated` (ORDERS_CAPTURE=timestamp),
    or, in binlog mode, the table's current rows replayed from its changes: every row image after a
    change counts +1, every image before one -1, and what sums above zero is there now (the table has
    no key, so a row is its values; identical rows count as copies). A row's `load_id` is then the
    load of the latest change to its order in the log, so the incremental order models recompute an
    order after an update or a delete, as they do after a new row.
#}
{%- if orders_capture() == 'binlog' %}
with

row_images as (
    select
        after_order_id as order_id,
        after_order_status as order_status,
        after_last_updated_at as last_updated_at,
        1 as copies,
        binlog_file,
        binlog_position,
        row_in_event,
        load_id
    from {{ ref('stg_orders_db__orders_changes') }}
    where operation in ('snapshot', 'insert', 'update')
    union all
    select
        before_order_id as order_id,
        before_order_status as order_status,
        before_last_updated_at as last_updated_at,
        -1 as copies,
        binlog_file,
        binlog_position,
        row_in_event,
        load_id
    from {{ ref('stg_orders_db__orders_changes') }}
    where operation in ('update', 'delete')
),

current_rows as (
    select
        order_id,
        order_status,
        last_updated_at,
        cast(sum(copies) as bigint) as copies
    from row_images
    group by all
    having sum(copies) > 0
),

latest_change_per_order as (
    -- the load of the order's last change: the latest load (load ids always grow), then the log's order
    -- within it (one load reads one server's log, whose files are named by that server)
    select
        order_id,
        max_by(load_id, {{ struct_of(['load_id', 'binlog_file', 'binlog_position', 'row_in_event']) }}) as load_id
    from row_images
    group by order_id
),

order_rows as (
    select
        current_rows.order_id,
        current_rows.order_status,
        current_rows.last_updated_at,
        latest_change_per_order.load_id,
        -- one row per copy
        {{ each_number_below('current_rows.copies') }} as copy_number
    from current_rows
    inner join latest_change_per_order on current_rows.order_id is not distinct from latest_change_per_order.order_id
)

select
    order_id,
    order_status,
    last_updated_at,
    load_id
from order_rows
{%- else %}
select
    order_id,
    order_status,
    last_updated_at,
    load_id
from {{ ref('stg_orders_db__orders') }}
{%- endif %}
