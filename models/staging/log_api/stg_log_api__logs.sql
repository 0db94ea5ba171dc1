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
        strptime(logtimestamp, '%Y%m%d%H%M%S') as record_logged_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at
    from source
)

select * from renamed
