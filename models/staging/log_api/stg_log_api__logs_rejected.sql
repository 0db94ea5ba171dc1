with

source as (
    {{ source_or_nothing('log_api', 'logs_rejected', {
        'record_json': 'string', 'reason': 'string', '_dlt_load_id': 'string', '_dlt_id': 'string'
    }) }}
),

renamed as (
    select
        record_json,
        reason,
        _dlt_load_id as load_id,
        _dlt_id as rejected_id
    from source
)

select * from renamed
