-- Fails the build when more than `log_quarantine_max_share` of the records are quarantined:
-- a wrong or missing key, or a changed payload format, rather than a few bad records.
-- Under Dagster, an asset check of `logs_quarantine`.
{{ config(meta={'dagster': {'ref': {'name': 'logs_quarantine'}}}) }}

with

quarantined as (
    select count(*) as records from {{ ref('logs_quarantine') }}
),

received as (
    select
        (select count(distinct record_id) from {{ ref('stg_log_api__logs') }})
        + (select count(*) from {{ ref('stg_log_api__logs_rejected') }}) as records
)

select
    quarantined.records as quarantined_records,
    received.records as received_records
from quarantined
cross join received
where quarantined.records > {{ var('log_quarantine_max_share') }} * received.records
