with

source as (
    select * from {{ source('log_api', 'logs') }}
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
