{#
    Lossless codecs for log fields, created as DuckDB macros in the warehouse on every dbt run
    (so `make sql` can use them too). A value the short form cannot represent is kept whole
    behind a `~`, which no short form starts with:

    - user_id: 64 lower-case hex chars -> 44 chars, the b64uuid (url-safe base64, no padding)
      of each 32-hex half, first half first.
    - method: GET=1, POST=2, PUT=3, PATCH=4, DELETE=5; any other text goes to `method_other`.
    - in_date: `20YY-MM-DDTHH:MM:SS.mmmZ` -> 15 digits `YYMMDDHHMMSSmmm` (the seed project's form).
      `logs_compressed` goes further: its `in_date` is NULL where the text is `logged_at` written
      the API's way, which is every usual record (`compress_in_date_at`, `restore_in_date_at`).
    - payload: the typed columns already hold the API's usual fields, so `payload_extra` keeps only
      what they cannot restore. `standard_payload` writes those columns as the loader's JSON
      (`json.dumps`: `", "` and `": "` separators, UTF-8 kept); when the payload is exactly that,
      `payload_extra` is NULL; when it is that plus more keys, the rest of its text (`, "client": …}`);
      otherwise `~` and the whole payload. `''` stands for a NULL payload.
#}
{% macro create_log_codecs() %}
    {{- return(adapter.dispatch('create_log_codecs')()) -}}
{% endmacro %}


{% macro default__create_log_codecs() %}
{%- set user_id_short, user_id_restored, in_date_pattern, in_date_short, in_date_restored = codec_parts() %}
create or replace macro main.b64url_encode(bytes) as
    replace(replace(rtrim(to_base64(bytes), '='), '+', '-'), '/', '_');
create or replace macro main.b64url_decode(text) as
    from_base64(replace(replace(text, '-', '+'), '_', '/') || repeat('=', (4 - length(text) % 4) % 4));
create or replace macro main.compress_user_id(user_id) as
    {{ short_or_kept('user_id', "regexp_full_match(user_id, '[0-9a-f]{64}')", user_id_short) }};
create or replace macro main.restore_user_id(code) as {{ restored_or_kept('starts_with', user_id_restored) }};
create or replace macro main.compress_method(method) as
    case method when 'GET' then 1 when 'POST' then 2 when 'PUT' then 3 when 'PATCH' then 4 when 'DELETE' then 5 end::utinyint;
create or replace macro main.method_other(method) as
    case when compress_method(method) is null then method end;
create or replace macro main.restore_method(code, other) as
    coalesce(case code when 1 then 'GET' when 2 then 'POST' when 3 then 'PUT' when 4 then 'PATCH' when 5 then 'DELETE' end, other);
create or replace macro main.compress_in_date(in_date) as
    {{ short_or_kept('in_date', "regexp_full_match(in_date, '" ~ in_date_pattern ~ "')", in_date_short) }};
create or replace macro main.restore_in_date(code) as {{ restored_or_kept('starts_with', in_date_restored) }};
create or replace macro main.in_date_of(logged_at) as strftime(cast(logged_at as timestamp), '%Y-%m-%dT%H:%M:%S.%gZ');
create or replace macro main.compress_in_date_at(in_date, logged_at) as {{ in_date_at_sql() }};
create or replace macro main.restore_in_date_at(code, logged_at) as {{ restore_in_date_at_sql() }};
create or replace macro main.json_text(value) as coalesce(to_json(value), 'null');
create or replace macro main.standard_payload(
    user_id, method, url, in_date, name, detail_message, detail_levelname, board_id
) as
    '{"user_id": ' || json_text(user_id) || ', "method": ' || json_text(method) || ', "url": ' || json_text(url)
    || ', "inDate": ' || json_text(in_date) || ', "name": ' || json_text(name)
    || ', "detail": {"message": ' || json_text(detail_message) || ', "levelname": ' || json_text(detail_levelname) || '}'
    || coalesce(', "board_id": ' || board_id::varchar, '') || '}';
create or replace macro main.compress_payload(payload, standard) as {{ compress_payload_sql('starts_with') }};
create or replace macro main.restore_payload(extra, standard) as {{ restore_payload_sql('starts_with') }};
{% endmacro %}


{#
    The same codecs as Spark SQL functions, temporary (they live in the session the run uses).
    Spark runs one statement at a time, so each is its own query. A full match is a length and a
    prefix match (Java's `$` would also match before a final newline).
#}
{% macro spark__create_log_codecs() %}
    {% if not execute %}{% do return('') %}{% endif %}
    {%- set user_id_short, user_id_restored, in_date_pattern, in_date_short, in_date_restored = codec_parts() %}
    {% set functions = [
        "b64url_encode(bytes binary) returns string
            return replace(replace(trim(trailing '=' from base64(bytes)), '+', '-'), '/', '_')",
        "b64url_decode(text string) returns binary
            return unbase64(replace(replace(text, '-', '+'), '_', '/') || repeat('=', (4 - length(text) % 4) % 4))",
        "compress_user_id(user_id string) returns string return "
            ~ short_or_kept('user_id', "length(user_id) = 64 and user_id rlike '^[0-9a-f]{64}'", user_id_short),
        "restore_user_id(code string) returns string return " ~ restored_or_kept('startswith', user_id_restored),
        "compress_method(method string) returns tinyint return
            cast(case method when 'GET' then 1 when 'POST' then 2 when 'PUT' then 3 when 'PATCH' then 4
                when 'DELETE' then 5 end as tinyint)",
        "method_other(method string) returns string return
            case when compress_method(method) is null then method end",
        "restore_method(code tinyint, other string) returns string return
            coalesce(case code when 1 then 'GET' when 2 then 'POST' when 3 then 'PUT' when 4 then 'PATCH'
                when 5 then 'DELETE' end, other)",
        "compress_in_date(in_date string) returns string return "
            ~ short_or_kept('in_date', "length(in_date) = 24 and in_date rlike '^" ~ in_date_pattern ~ "'", in_date_short),
        "restore_in_date(code string) returns string return " ~ restored_or_kept('startswith', in_date_restored),
        "in_date_of(logged_at timestamp) returns string return date_format(logged_at, \"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'\")",
        "compress_in_date_at(in_date string, logged_at timestamp) returns string return " ~ in_date_at_sql(),
        "restore_in_date_at(code string, logged_at timestamp) returns string return " ~ restore_in_date_at_sql(),
        "json_text(value string) returns string return
            case when value is null then 'null' else substr(to_json(named_struct('v', value)), 6, length(to_json(named_struct('v', value))) - 6) end",
        "standard_payload(
            user_id string, method string, url string, in_date string, name string,
            detail_message string, detail_levelname string, board_id bigint
        ) returns string return
            '{\"user_id\": ' || json_text(user_id) || ', \"method\": ' || json_text(method) || ', \"url\": ' || json_text(url)
            || ', \"inDate\": ' || json_text(in_date) || ', \"name\": ' || json_text(name)
            || ', \"detail\": {\"message\": ' || json_text(detail_message) || ', \"levelname\": ' || json_text(detail_levelname) || '}'
            || coalesce(', \"board_id\": ' || cast(board_id as string), '') || '}'",
        "compress_payload(payload string, standard string) returns string return "
            ~ compress_payload_sql('startswith'),
        "restore_payload(extra string, standard string) returns string return " ~ restore_payload_sql('startswith'),
    ] %}
    {% for function in functions %}
        {% do run_query("create or replace temporary function " ~ function) %}
    {% endfor %}
    {% do return('') %}
{% endmacro %}


{#
    What both engines' codecs share. A value is NULL, or has the short form (`fits`: `short`), or is
    kept whole behind a `~`; a code is restored from its short form unless it starts with `~`. The
    prefix test is DuckDB's `starts_with` or Spark's `startswith`.
#}
{% macro short_or_kept(value, fits, short) -%}
    case when {{ value }} is null then null when {{ fits }} then {{ short }} else '~' || {{ value }} end
{%- endmacro %}


{% macro restored_or_kept(starts_with, restored) -%}
    case when code is null then null when {{ starts_with }}(code, '~') then substr(code, 2) else {{ restored }} end
{%- endmacro %}


{# The short forms of user_id and in_date, and their inverses, as SQL both engines read alike. #}
{% macro codec_parts() %}
    {{- return([
        "b64url_encode(unhex(substr(user_id, 1, 32))) || b64url_encode(unhex(substr(user_id, 33, 32)))",
        "lower(hex(b64url_decode(substr(code, 1, 22)))) || lower(hex(b64url_decode(substr(code, 23, 22))))",
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z",
        "substr(in_date, 3, 2) || substr(in_date, 6, 2) || substr(in_date, 9, 2) || substr(in_date, 12, 2)"
            ~ " || substr(in_date, 15, 2) || substr(in_date, 18, 2) || substr(in_date, 21, 3)",
        "'20' || substr(code, 1, 2) || '-' || substr(code, 3, 2) || '-' || substr(code, 5, 2) || 'T'"
            ~ " || substr(code, 7, 2) || ':' || substr(code, 9, 2) || ':' || substr(code, 11, 2)"
            ~ " || '.' || substr(code, 13, 3) || 'Z'",
    ]) -}}
{% endmacro %}


{#
    The column `in_date`, beside `logged_at` (parsed from it): NULL where it is `logged_at` as the API
    writes it (`in_date_of`), '' where it is NULL but `logged_at` is not, its short form otherwise.
#}
{% macro in_date_at_sql() %}
    case
        when in_date is not distinct from in_date_of(logged_at) then null
        else coalesce(compress_in_date(in_date), '')
    end
{% endmacro %}


{% macro restore_in_date_at_sql() %}
    case
        when code is null then in_date_of(logged_at)
        when code = '' then null
        else restore_in_date(code)
    end
{% endmacro %}


{#
    The payload's codec, the same SQL on both engines but for the name of the prefix test
    (DuckDB's `starts_with`, Spark's `startswith`): `payload_extra` is NULL for the standard
    payload, the rest of its text when it only adds keys, `~` and the whole payload otherwise.
#}
{% macro compress_payload_sql(starts_with) %}
    case
        when payload is null then ''
        when payload = standard then null
        when {{ starts_with }}(payload, left(standard, length(standard) - 1) || ', ')
            then substr(payload, length(standard))
        else '~' || payload
    end
{% endmacro %}


{% macro restore_payload_sql(starts_with) %}
    case
        when extra is null then standard
        when extra = '' then null
        when {{ starts_with }}(extra, '~') then substr(extra, 2)
        else left(standard, length(standard) - 1) || extra
    end
{% endmacro %}


{# The rows of `logs` that `relation` (shaped like `logs_compressed`) encodes, in `logs`' column order. #}
{% macro restore_logs(relation) %}
    select
        record_id,
        restore_user_id(user_id) as user_id,
        restore_method(method, method_other) as method,
        url,
        restore_in_date_at(in_date, logged_at) as in_date,
        logged_at,
        name,
        detail_message,
        detail_levelname,
        board_id,
        restore_payload(
            payload_extra,
            standard_payload(
                restore_user_id(user_id), restore_method(method, method_other), url, restore_in_date_at(in_date, logged_at),
                name, detail_message, detail_levelname, board_id
            )
        ) as payload,
        load_id
    from {{ relation }}
{% endmacro %}
