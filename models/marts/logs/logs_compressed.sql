with

logs as (
    select * from {{ ref('logs') }} as decrypted
    {% if is_incremental() %}
        where decrypted.record_id not in (select compressed.record_id from {{ this }} as compressed)  -- noqa: RF03
    {% endif %}
),

compressed as (
    select
        record_id,
        url,
        logged_at,
        name,
        detail_message,
        detail_levelname,
        board_id,
        load_id,
        compress_user_id(user_id) as user_id,
        -- `method` is the column's name in the model's contract, keyword or not.
        compress_method(method) as method,  -- noqa: RF04
        method_other(method) as method_other,
        -- NULL where `logged_at` says it all
        compress_in_date_at(in_date, logged_at) as in_date,
        compress_payload(
            payload,
            standard_payload(user_id, method, url, in_date, name, detail_message, detail_levelname, board_id)
        ) as payload_extra
    from logs
)

select * from compressed
