"""Loading the log API: records land unchanged, once each, in the warehouse and the lake."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingestion.destinations import targets, working_folder
from ingestion.log_records import LOGTIMESTAMP_FORMAT, is_logtimestamp
from tests.readers import lake_rows, warehouse_rows
from tests.workspace import run_with_sandboxes

COLUMNS = ["record_id", "logtimestamp", "data"]


def sent(page: list[dict]) -> list[tuple]:
    return sorted((record["recordId"], record["logtimestamp"], record["data"]) for record in page)


def both_destinations(settings) -> tuple[list[tuple], list[tuple]]:
    return warehouse_rows(settings, "logs", COLUMNS), lake_rows(settings, "logs", COLUMNS)


def test_raw_logs_hold_every_token_byte_for_byte_in_both_destinations(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)

    report = run_with_sandboxes(settings, ("logs",))

    assert report.ok, report.errors
    [page] = sandbox.pages_sent
    assert len(page) == 100
    warehouse, lake = both_destinations(settings)
    assert warehouse == sent(page)
    assert lake == sent(page)


def test_a_second_poll_of_the_same_records_adds_nothing(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)

    run_with_sandboxes(settings, ("logs",))
    report = run_with_sandboxes(settings, ("logs",))

    first, second = sandbox.pages_sent
    assert sent(first) != sent(second), "the API re-encrypts every token on every poll"
    assert report.rows == {("logs", "warehouse"): 0, ("logs", "lake"): 0}
    assert both_destinations(settings) == (sent(first), sent(first))


def test_after_the_api_moves_on_exactly_the_new_records_are_added(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))

    sandbox.advance(timedelta(minutes=1))
    report = run_with_sandboxes(settings, ("logs",))

    first, second = sandbox.pages_sent
    first_ids = {record["recordId"] for record in first}
    new = [record for record in second if record["recordId"] not in first_ids]
    assert len(new) == 33
    assert report.rows == {("logs", "warehouse"): 33, ("logs", "lake"): 33}
    expected = sorted(sent(first) + sent(new))
    assert both_destinations(settings) == (expected, expected)


def test_502_504_and_timeouts_are_retried_and_nothing_is_lost(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url, LOG_API_TIMEOUT_SECONDS="1")
    sandbox.fail_next(502, 504)
    sandbox.slow_next(0, 0, 3)  # the third request outlasts the 1 s timeout

    report = run_with_sandboxes(settings, ("logs",))

    assert report.ok, report.errors
    [page] = sandbox.pages_sent[-1:]
    assert both_destinations(settings) == (sent(page), sent(page))


@pytest.mark.long
def test_an_api_that_keeps_failing_ends_the_run_with_one_line_and_keeps_earlier_data(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))
    before = both_destinations(settings)

    sandbox.advance(timedelta(minutes=1))
    sandbox.fail_next(*[502] * 5)
    report = run_with_sandboxes(settings, ("logs",))

    assert not report.ok
    [error] = report.errors
    assert "\n" not in error
    assert "502" in error and "LOG_API_URL" in error
    assert both_destinations(settings) == before


def test_a_non_json_body_fails_clearly_and_loads_nothing_from_that_poll(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))
    before = both_destinations(settings)

    sandbox.advance(timedelta(minutes=1))
    sandbox.misbehaviour.non_json_responses = 1
    report = run_with_sandboxes(settings, ("logs",))

    [error] = report.errors
    assert "not JSON" in error and "nothing from this poll was loaded" in error
    assert both_destinations(settings) == before


def test_invalid_tokens_are_loaded_unchanged_for_dbt_to_quarantine(project, log_api):
    sandbox, url = log_api
    sandbox.misbehaviour.invalid_token_every = 7
    settings = project(LOG_API_URL=url)

    run_with_sandboxes(settings, ("logs",))

    [page] = sandbox.pages_sent
    assert both_destinations(settings) == (sent(page), sent(page))


def test_a_record_first_served_after_later_records_still_lands_once(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))

    late = [sandbox.late_record(number) for number in range(1, 14)]
    sandbox.misbehaviour.extra_records = late
    sandbox.advance(timedelta(minutes=1))
    run_with_sandboxes(settings, ("logs",))
    run_with_sandboxes(settings, ("logs",))  # served again: still once

    first_tokens = {}
    for page in sandbox.pages_sent:
        for record in page:
            first_tokens.setdefault(record["recordId"], (record["recordId"], record["logtimestamp"], record["data"]))
    warehouse, lake = both_destinations(settings)
    assert warehouse == lake == sorted(first_tokens.values())
    assert {record["recordId"] for record in late} <= {row[0] for row in warehouse}


def test_every_poll_is_in_the_ledger_and_a_gap_between_polls_shows(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))
    sandbox.advance(timedelta(minutes=1))
    run_with_sandboxes(settings, ("logs",))
    sandbox.advance(timedelta(hours=1))  # far more records than one page: some were never served
    run_with_sandboxes(settings, ("logs",))

    columns = ["served", "new", "known", "rejected", "overlaps_previous"]
    for read in (warehouse_rows, lake_rows):
        polls = [row[1:] for row in read(settings, "log_api_polls", ["polled_at", *columns])]
        assert polls == [(100, 100, 0, 0, None), (100, 33, 67, 0, True), (100, 100, 0, 0, False)], read.__name__


BAD_TIME = "logtimestamp is not a UTC time as YYYYmmddHHMMSS"
MALFORMED = {
    '"just a string"': "not a JSON object: str",
    '{"recordId": "no-data", "logtimestamp": "20230316070000"}': "data missing",
    '{"recordId": "numeric-time", "logtimestamp": 20230316070000, "data": "gAAAA"}': (
        "logtimestamp is not a string: int"
    ),
    '{"recordId": "object-data", "logtimestamp": "20230316070000", "data": {"a": 1}}': "data is not a string: dict",
    '{"recordId": "nul-byte", "logtimestamp": "20230316070000", "data": "gAAAA\\u0000"}': "data holds a NUL byte",
    # A time the models cannot parse would stop every later build: it is refused here, at the raw boundary.
    '{"recordId": "words", "logtimestamp": "not-a-time", "data": "gAAAA"}': BAD_TIME,
    '{"recordId": "iso", "logtimestamp": "2023-03-16T07:00:00Z", "data": "gAAAA"}': BAD_TIME,
    '{"recordId": "feb-30", "logtimestamp": "20230230070000", "data": "gAAAA"}': BAD_TIME,
    '{"recordId": "13-digits", "logtimestamp": "2023316070000", "data": "gAAAA"}': BAD_TIME,
    json.dumps({"recordId": "arabic-digits", "logtimestamp": "٢٠٢٣٠٣١٦٠٧٠٠٠٠", "data": "gAAAA"}): BAD_TIME,
}


@given(st.one_of(st.text(max_size=16), st.text(alphabet="0123456789", min_size=12, max_size=15)))
@example("20240229235959")
@example("20230229235959")
def test_every_logtimestamp_the_raw_boundary_accepts_is_the_time_the_staging_model_reads(text):
    with duckdb.connect() as connection:
        [(parsed,)] = connection.execute(f"select try_strptime(?, '{LOGTIMESTAMP_FORMAT}')", [text]).fetchall()
    if is_logtimestamp(text):
        assert parsed == datetime.strptime(text, LOGTIMESTAMP_FORMAT)
    else:
        assert len(text) != 14 or not text.isdigit() or parsed is None


def test_a_malformed_record_costs_only_itself_and_is_kept_verbatim_with_its_reason(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    malformed = [json.loads(text) for text in MALFORMED]
    sandbox.misbehaviour.extra_records = malformed

    report = run_with_sandboxes(settings, ("logs",))
    report_again = run_with_sandboxes(settings, ("logs",))

    assert report.ok and report_again.ok, report.errors + report_again.errors
    [first, _] = sandbox.pages_sent
    well_formed = [record for record in first if record not in malformed]
    assert len(well_formed) == 100
    assert both_destinations(settings) == (sent(well_formed), sent(well_formed))
    # The sandbox sends `json.dumps(page)`: each element's text as sent is `json.dumps(element)`.
    expected = sorted((json.dumps(json.loads(text)), reason) for text, reason in MALFORMED.items()) * 2
    for read in (warehouse_rows, lake_rows):
        assert read(settings, "logs_rejected", ["record_json", "reason"]) == sorted(expected), read.__name__


def test_bytes_that_are_not_utf8_or_nest_too_deep_cost_only_their_element_and_utf8_is_read_as_utf8(project, log_api):
    """Two ids that differ only in bytes that are not UTF-8 once became one id (and one record was
    dropped); a `text/plain` answer without a charset was read as ISO-8859-1; one element nested
    100,000 deep refused the whole poll."""
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    accented = {**sandbox.late_record(1), "recordId": "réc-ü"}
    not_utf8 = [
        b'{"recordId": "abc\xff", "logtimestamp": "20230316070000", "data": "gAAAA"}',
        b'{"recordId": "abc\xfe", "logtimestamp": "20230316070000", "data": "gAAAA"}',
    ]
    deep = b"[" * 100_000 + b"]" * 100_000
    surrogate = b'{"recordId": "lone-\\ud800", "logtimestamp": "20230316070000", "data": "gAAAA"}'
    sandbox.misbehaviour.content_type = "text/plain"
    as_utf8 = json.dumps(accented, ensure_ascii=False).encode()
    sandbox.misbehaviour.extra_elements = [as_utf8, *not_utf8, deep, surrogate]

    report = run_with_sandboxes(settings, ("logs",))

    assert report.ok, report.errors
    [page] = sandbox.pages_sent
    assert both_destinations(settings) == (sent([*page, accented]), sent([*page, accented]))
    expected = sorted(
        [
            (
                '{"recordId": "abc\\xff", "logtimestamp": "20230316070000", "data": "gAAAA"}',
                "not UTF-8: byte 0xff at character 17",
            ),
            (
                '{"recordId": "abc\\xfe", "logtimestamp": "20230316070000", "data": "gAAAA"}',
                "not UTF-8: byte 0xfe at character 17",
            ),
            (deep.decode(), "nested deeper than the JSON parser reads"),
            (surrogate.decode(), "recordId holds a lone surrogate escape (\\ud800-\\udfff): not Unicode text"),
        ]
    )
    for read in (warehouse_rows, lake_rows):
        assert read(settings, "logs_rejected", ["record_json", "reason"]) == expected, read.__name__


def test_a_package_the_warehouse_refuses_for_good_is_moved_aside_and_blocks_no_later_run(project, log_api):
    sandbox, url = log_api
    settings = project(LOG_API_URL=url)
    run_with_sandboxes(settings, ("logs",))
    with duckdb.connect(str(settings.warehouse_path)) as warehouse:  # someone replaced the raw table by a view
        warehouse.execute("alter table raw.logs rename to logs_by_hand")
        warehouse.execute("create view raw.logs as select * from raw.logs_by_hand")
    sandbox.advance(timedelta(minutes=1))

    refused = run_with_sandboxes(settings, ("logs",))

    [error] = refused.errors
    kept = working_folder(settings, targets(settings)[0]) / "failed_packages" / "elt_warehouse"
    assert error.startswith("logs -> warehouse: a load package failed for good") and "\n" not in error
    assert f"moved aside to {kept}" in error
    assert any(path.suffix == ".parquet" for path in kept.rglob("*"))
    assert len(lake_rows(settings, "logs", COLUMNS)) == 133, "the lake goes on"

    sandbox.advance(timedelta(minutes=1))
    later = run_with_sandboxes(settings, ("logs",))
    [again] = later.errors
    assert again.startswith("logs -> warehouse: a load package failed for good"), "no retry of the refused package"
    assert len(lake_rows(settings, "logs", COLUMNS)) == 166
