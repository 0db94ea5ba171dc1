-- Every distinct record of raw.logs is in exactly one of `logs` and `logs_quarantine`, and every
-- malformed element of raw.logs_rejected is in `logs_quarantine`: each thing the API sent is accounted for.
-- Under Dagster, an asset check of `logs`.
{{ config(meta={'dagster': {'ref': {'name': 'logs'}}}) }}

with

records as (
    select distinct record_id from {{ ref('stg_log_api__logs') }}
),

placed as (
    select record_id from {{ ref('logs') }}
    union all
    select record_id from {{ ref('logs_quarantine') }}
    where reason not like 'malformed: %'
),

placements as (
    select
        records.record_id,
        count(placed.record_id) as places
    from records
    left join placed on records.record_id = placed.record_id
    group by records.record_id
),

malformed_counts as (
    select
        (select count(*) from {{ ref('stg_log_api__logs_rejected') }}) as rejected,
        (
            select count(*) from {{ ref('logs_quarantine') }}
            where reason like 'malformed: %'
        ) as quarantined
)

select
    record_id,
    places as problem_count
from placements
where places <> 1
union all
select
    null as record_id,
    rejected - quarantined as problem_count
from malformed_counts
where rejected <> quarantined
