-- Every distinct record of raw.logs is in exactly one of `logs` and `logs_quarantine`.
with

records as (
    select distinct record_id from {{ ref('stg_log_api__logs') }}
),

placed as (
    select record_id from {{ ref('logs') }}
    union all
    select record_id from {{ ref('logs_quarantine') }}
),

placements as (
    select
        records.record_id,
        count(placed.record_id) as places
    from records
    left join placed on records.record_id = placed.record_id
    group by records.record_id
)

select * from placements
where places <> 1
