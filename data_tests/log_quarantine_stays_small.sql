-- Fails the build when more than `log_quarantine_max_share` of the records are quarantined:
-- a wrong or missing key, or a changed payload format, rather than a few bad records.
with

quarantined as (
    select count(*) as records from {{ ref('logs_quarantine') }}
),

received as (
    select count(distinct record_id) as records from {{ ref('stg_log_api__logs') }}
)

select
    quarantined.records as quarantined_records,
    received.records as received_records
from quarantined
cross join received
where quarantined.records > {{ var('log_quarantine_max_share') }} * received.records
