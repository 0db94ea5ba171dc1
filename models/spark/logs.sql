{#
    `logs` on the `spark` target: the DuckDB build's Python model as SQL around the same code.
    `decrypt_log_token` is `transforms.log_decryption` as a vectorised (Arrow) UDF, registered by
    `python -m warehouse spark` and run on every executor. Incremental like the Python model: each
    run decrypts the records not in it yet, so quarantined records come in once their key is added,
    and the first load of a record that decrypts wins.
#}
{{ config(materialized='incremental', incremental_strategy='append') }}

with

pending as (
    -- Spread over every core: a load is one Parquet file, which Spark would read (and decrypt) as one task.
    select /*+ REPARTITION */
        staged.record_id,
        staged.token,
        staged.load_id
    from {{ ref('stg_log_api__logs') }} as staged
    {% if is_incremental() %}
        where staged.record_id not in (select decrypted.record_id from {{ this }} as decrypted)
    {% endif %}
),

decrypted as (
    select
        pending.record_id,
        pending.load_id,
        decrypt_log_token(pending.record_id, pending.token, pending.load_id) as result
    from pending
),

first_decrypted as (
    select
        decrypted.record_id,
        decrypted.load_id,
        decrypted.result,
        row_number() over (
            partition by decrypted.record_id order by decrypted.load_id, decrypted.result.payload
        ) as nth
    from decrypted
    where decrypted.result.reason is null
)

select
    first_decrypted.record_id,
    first_decrypted.result.user_id,
    first_decrypted.result.method,
    first_decrypted.result.url,
    first_decrypted.result.in_date,
    first_decrypted.result.logged_at,
    first_decrypted.result.name,
    first_decrypted.result.detail_message,
    first_decrypted.result.detail_levelname,
    first_decrypted.result.board_id,
    first_decrypted.result.payload,
    first_decrypted.load_id
from first_decrypted
where first_decrypted.nth = 1
