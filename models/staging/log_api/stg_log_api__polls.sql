with

source as (
    select * from {{ source('log_api', 'log_api_polls') }}
),

renamed as (
    select
        cast(polled_at as timestamp) as polled_at,
        served,
        new as new_records,
        known as known_records,
        rejected as rejected_records,
        oldest_logtimestamp,
        newest_logtimestamp,
        overlaps_previous,
        _dlt_load_id as load_id
    from source
)

select * from renamed
