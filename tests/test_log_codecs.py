"""The log codecs (DuckDB macros created by dbt) are lossless for every input and match b64uuid."""

from __future__ import annotations

import string
from datetime import datetime

import duckdb
import pytest
from b64uuid import B64UUID
from hypothesis import given
from hypothesis import strategies as st

from sandbox.log_api import payload as sandbox_payload
from tests.workspace import Workspace
from transforms.log_decryption import to_json, typed_fields

METHODS = {"GET": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5}
hex_ids = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
any_text = st.none() | st.text() | st.text(alphabet=string.hexdigits + "~", min_size=60, max_size=66)


@pytest.fixture(scope="module")
def codecs(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """A warehouse holding the codec macros, installed the way dbt installs them."""
    workspace = Workspace(tmp_path_factory.mktemp("codecs"))
    workspace.dbt("run-operation", "install_log_codecs")
    with duckdb.connect(str(workspace.settings.warehouse_path)) as connection:
        yield connection


def call(connection: duckdb.DuckDBPyConnection, sql: str, *values):
    return connection.execute(f"select {sql}", list(values)).fetchone()[0]


@given(hex_ids)
def test_a_64_hex_user_id_becomes_the_44_char_b64uuid_of_its_halves(codecs, user_id):
    compressed = call(codecs, "compress_user_id(?)", user_id)

    assert compressed == B64UUID(user_id[:32]).string + B64UUID(user_id[32:]).string
    assert len(compressed) == 44
    assert call(codecs, "restore_user_id(compress_user_id(?))", user_id) == user_id


@given(any_text)
def test_any_user_id_restores_exactly(codecs, user_id):
    assert call(codecs, "restore_user_id(compress_user_id(?))", user_id) == user_id


@given(st.sampled_from(sorted(METHODS)))
def test_the_five_methods_become_their_codes(codecs, method):
    assert call(codecs, "compress_method(?)", method) == METHODS[method]
    assert call(codecs, "method_other(?)", method) is None


@given(st.none() | st.text() | st.sampled_from(["get", "OPTIONS", "GET ", "DELETE"]))
def test_any_method_restores_exactly(codecs, method):
    assert call(codecs, "restore_method(compress_method(?), method_other(?))", method, method) == method


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)))
def test_an_api_in_date_becomes_15_digits(codecs, moment):
    in_date = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    compressed = call(codecs, "compress_in_date(?)", in_date)

    assert compressed == moment.strftime("%y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"
    assert call(codecs, "restore_in_date(?)", compressed) == in_date


@given(st.none() | st.text() | st.sampled_from(["1999-03-16T07:02:56.180Z", "2023-03-16T07:02:56Z", "~x"]))
def test_any_in_date_restores_exactly(codecs, in_date):
    assert call(codecs, "restore_in_date(compress_in_date(?))", in_date) == in_date


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)))
def test_an_in_date_that_is_its_logged_at_as_the_api_writes_it_takes_no_bytes(codecs, moment):
    """The column `logs_compressed.in_date`: NULL where `logged_at` says it all (the API's usual record)."""
    logged_at = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    in_date = logged_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{logged_at.microsecond // 1000:03d}Z"

    assert call(codecs, "compress_in_date_at(?, ?)", in_date, logged_at) is None
    assert call(codecs, "restore_in_date_at(null, ?)", logged_at) == in_date


@given(
    st.none() | st.text() | st.sampled_from(["2023-03-16T07:02:56.180Z", "2023-03-16T07:02:56Z", "", "~x"]),
    st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)),
)
def test_any_in_date_restores_exactly_beside_any_logged_at(codecs, in_date, logged_at):
    assert call(codecs, "restore_in_date_at(compress_in_date_at(?, ?), ?)", in_date, logged_at, logged_at) == in_date


def payload_round_trip(connection: duckdb.DuckDBPyConnection, payload: dict | None) -> tuple[str | None, str | None]:
    """(payload_extra, restored payload) for the JSON the loader writes for `payload`, through the typed columns."""
    text = None if payload is None else to_json(payload)
    columns = {**typed_fields(payload or {})}
    fields = ["user_id", "method", "url", "in_date", "name", "detail_message", "detail_levelname", "board_id"]
    standard = f"standard_payload({', '.join('?' for _ in fields)})"
    values = [columns[field] for field in fields]
    extra = call(connection, f"compress_payload(?, {standard})", text, *values)
    restored = call(connection, f"restore_payload(?, {standard})", extra, *values)
    return extra, restored


@pytest.mark.parametrize("index", range(200))
def test_a_usual_api_payload_needs_no_extra_and_extra_keys_keep_only_their_own_text(codecs, index):
    payload = sandbox_payload(42, index)
    extra, restored = payload_round_trip(codecs, payload)

    assert restored == to_json(payload)
    if "name" not in payload:  # not the usual shape: kept whole
        assert extra == "~" + to_json(payload)
    elif "client" in payload:
        assert extra == ", " + to_json({"client": payload["client"]})[1:]
    else:
        assert extra is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
usual_keys = st.sampled_from(["user_id", "method", "url", "inDate", "name", "detail", "board_id", "client"])


@given(st.none() | st.dictionaries(usual_keys | st.text(max_size=6), json_values | st.text(), max_size=9))
def test_any_payload_restores_exactly(codecs, payload):
    assert payload_round_trip(codecs, payload)[1] == (None if payload is None else to_json(payload))
