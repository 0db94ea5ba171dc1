-- sqlfluff:indentation:template_blocks_indent:false
{#
    Every dlt load that brought `Orders` rows, numbered by the dbt run that first saw it (`batch`:
    1, 2, …). The incremental order models take the orders of loads in batches after the last one
    they processed, so their progress follows the set of loads they have seen, not the order of
    load ids: a load with a smaller load id than those already modelled (written by another loader
    host, or by a clock stepped back) is new here all the same.
#}

with

loads as (
    select distinct load_id
    from {{ ref('int_order_rows') }}
),

{%- if is_incremental() %}

seen as (
    select
        load_id,
        batch
    from {{ this }}
),

new_loads as (
    select
        loads.load_id,
        (select coalesce(max(seen.batch), 0) from seen) + 1 as batch
    from loads
    where loads.load_id not in (select seen.load_id from seen)
)

{%- else %}

new_loads as (
    select
        load_id,
        1 as batch
    from loads
)

{%- endif %}

select * from new_loads
