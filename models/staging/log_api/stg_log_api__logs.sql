{#
    The log records, one row per raw row. A record whose `logtimestamp` is not a time (the raw
    boundary refuses such records now; warehouses loaded before may hold some) is left out here
    and goes to `logs_quarantine` through `stg_log_api__logs_rejected`, so it cannot stop a build.
#}

with

source as (
    {{ source_or_nothing('log_api', 'logs') }}
),

renamed as (
    select
        record_id,
        logtimestamp,
        data as token,
        _dlt_load_id as load_id,
        {{ compact_timestamp('logtimestamp') }} as record_logged_at,
        {{ dlt_load_time('_dlt_load_id') }} as loaded_at
    from source
)

select * from renamed
where record_logged_at is not null
