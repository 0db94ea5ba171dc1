{#
    The elements of polls that were not records (`raw.logs_rejected`, with the loader's reason),
    and the raw records whose `logtimestamp` is not a time, which warehouses loaded before the raw
    boundary refused them may hold (with the reason the loader gives such records now).
#}

with

source as (
    {{ source_or_nothing('log_api', 'logs_rejected') }}
),

renamed as (
    select
        record_json,
        reason,
        _dlt_load_id as load_id,
        _dlt_id as rejected_id
    from source
),

unreadable_times as (
    select
        {{ log_record_json('record_id', 'logtimestamp', 'data') }} as record_json,
        'logtimestamp is not a UTC time as YYYYmmddHHMMSS' as reason,
        _dlt_load_id as load_id,
        _dlt_id as rejected_id
    from ({{ source_or_nothing('log_api', 'logs') }}) as raw_logs
    where {{ compact_timestamp('logtimestamp') }} is null
)

select * from renamed
union all
select * from unreadable_times
