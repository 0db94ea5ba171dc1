-- sqlfluff:indentation:template_blocks_indent:false
{#
    The source's rows, one per row: as read by `LastUpdated` (ORDERS_CAPTURE=timestamp), or, in binlog
    mode, the table's current rows replayed from its changes: every row image after a change counts
    +1, every image before one -1, and what sums above zero is there now (the table has no key, so a
    row is its values; identical rows count as copies). A row's `load_id` is then the load of the
    latest change to its order in the log, so the incremental order models recompute an order
    after an update or a delete, as they do after a new row.
#}
{%- if env_var('ORDERS_CAPTURE', 'timestamp') | lower == 'binlog' %}
with

{%- set change_columns = {
    'operation': 'varchar',
    'before__order_id': 'bigint',
    'before__order_status': 'varchar',
    'before__last_updated': 'timestamp',
    'after__order_id': 'bigint',
    'after__order_status': 'varchar',
    'after__last_updated': 'timestamp',
    'binlog_file': 'varchar',
    'binlog_position': 'bigint',
    'row_in_event': 'bigint',
    '_dlt_load_id': 'varchar',
} %}

changes as (
    -- every column, NULL where dlt has not created it yet
    select * from ({{ source_or_nothing('orders_db', 'orders_changes', change_columns) }})
    union all by name
    select
    {%- for name, data_type in change_columns.items() %}
        cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
),

row_images as (
    select
        after__order_id as order_id,
        after__order_status as order_status,
        after__last_updated as last_updated,
        1 as copies,
        binlog_file,
        binlog_position,
        row_in_event,
        _dlt_load_id
    from changes
    where operation in ('snapshot', 'insert', 'update')
    union all
    select
        before__order_id as order_id,
        before__order_status as order_status,
        before__last_updated as last_updated,
        -1 as copies,
        binlog_file,
        binlog_position,
        row_in_event,
        _dlt_load_id
    from changes
    where operation in ('update', 'delete')
),

current_rows as (
    select
        order_id,
        order_status,
        last_updated,
        cast(sum(copies) as bigint) as copies
    from row_images
    group by all
    having sum(copies) > 0
),

latest_change_per_order as (
    -- the load of the order's last change in the log's order (load ids follow the loader's clock)
    select
        order_id,
        arg_max(_dlt_load_id, struct_pack(binlog_file, binlog_position, row_in_event)) as load_id
    from row_images
    group by order_id
),

source as (
    select
        current_rows.order_id,
        current_rows.order_status,
        current_rows.last_updated,
        latest_change_per_order.load_id as _dlt_load_id,
        -- one row per copy
        unnest(range(current_rows.copies)) as copy_number
    from current_rows
    inner join latest_change_per_order on current_rows.order_id is not distinct from latest_change_per_order.order_id
),
{%- else %}
with

source as (
    {{ source_or_nothing('orders_db', 'orders') }}
),
{%- endif %}

renamed as (
    select
        cast(order_id as integer) as order_id,
        order_status,
        cast(last_updated as timestamp) as last_updated_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
