-- sqlfluff:indentation:template_blocks_indent:false
{{ config(enabled=orders_capture() == 'binlog') }}

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

with

source as (
    -- every column, NULL where dlt has not created it yet
    select * from ({{ source_or_nothing('orders_db', 'orders_changes', change_columns) }})
    union all by name
    select
    {%- for name, data_type in change_columns.items() %}
        cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
),

renamed as (
    select
        operation,
        cast(before__order_id as integer) as before_order_id,
        before__order_status as before_order_status,
        cast(before__last_updated as timestamp) as before_last_updated_at,
        cast(after__order_id as integer) as after_order_id,
        after__order_status as after_order_status,
        cast(after__last_updated as timestamp) as after_last_updated_at,
        binlog_file,
        binlog_position,
        row_in_event,
        _dlt_load_id as load_id
    from source
)

select * from renamed
