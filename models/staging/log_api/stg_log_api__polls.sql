with

source as (
    {{ source_or_nothing('log_api', 'log_api_polls') }}
),

renamed as (
    select
        served,
        new as new_records,
        known as known_records,
        rejected as rejected_records,
        oldest_logtimestamp,
        newest_logtimestamp,
        overlaps_previous,
        _dlt_load_id as load_id,
        cast(polled_at as timestamp) as polled_at
    from source
)

select * from renamed
