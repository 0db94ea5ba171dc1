-- Warns about each poll that did not reach back to the one before it: records logged in between
-- may never have been served. Poll more often (`make schedule`), or ask the API's owner for them.
{{ config(severity='warn') }}

select
    polled_at,
    oldest_logtimestamp,
    served
from {{ ref('stg_log_api__polls') }}
where overlaps_previous = false
