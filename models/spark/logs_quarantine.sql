{#
    `logs_quarantine` on the `spark` target: the records not in `logs`, with the reason their token
    fails (from the same `decrypt_log_token` UDF as `logs`), and every malformed element of a poll.
#}

with

failed as (
    select /*+ REPARTITION */
        staged.record_id,
        staged.token,
        staged.load_id,
        row_number() over (partition by staged.record_id order by staged.load_id) as nth
    from {{ ref('stg_log_api__logs') }} as staged
    where staged.record_id not in (select decrypted.record_id from {{ ref('logs') }} as decrypted)
),

undecrypted as (
    select
        record_id,
        -- `data` and `reason` are the columns' names in the model's contract, keywords or not.
        token as data,  -- noqa: RF04
        coalesce(
            decrypt_log_token(record_id, token, load_id).reason, 'decrypts now: run the logs model'
        ) as reason,
        load_id as _dlt_load_id
    from failed
    where nth = 1
),

malformed as (
    select
        get_json_object(record_json, '$.recordId') as record_id,
        record_json as data,  -- noqa: RF04
        'malformed: ' || reason as reason,
        load_id as _dlt_load_id
    from {{ ref('stg_log_api__logs_rejected') }}
)

select * from undecrypted
union all
select * from malformed
