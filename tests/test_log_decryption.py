"""Decrypting and parsing tokens: every dict the API can send, and every way a token can be bad."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pyarrow as pa
import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from sandbox.log_api import payload as sandbox_payload
from settings import REPO_ROOT, SANDBOX_FERNET_KEY, ConfigError, Settings
from transforms import log_decryption as decryption

KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(), json_values, max_size=8)


@given(payloads)
def test_the_str_of_any_python_dict_parses_back_to_it(payload):
    assert decryption.parse_payload(str(payload)) == payload


def outcome(parse, text: str) -> tuple[str, str]:
    """What `parse` makes of `text`, types included (1 and True differ): its value's repr, or the error's type."""
    try:
        return ("value", repr(parse(text)))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
        return ("error", type(error).__name__)


literal_parts = st.sampled_from(["{", "}", "[", "]", ", ", ": ", "'", '"', "None", "True", "False", "null", "true"])
literal_parts |= st.sampled_from(["1", "-0", "01", "1.5e3", "1.", ".5", "+2", "e", "(", ")", " ", "\n", "\t", "\\"])
literal_parts |= st.text(max_size=3)
literal_parts |= st.sampled_from(["\\'", '\\"', "\\\\", "\\n", "\\t", "\\r", "\\x41", "\\u00e9", "\\0", "\\d", "'''"])
literal_like_texts = st.lists(literal_parts, max_size=25).map("".join)


@given(payloads.map(str) | json_values.map(repr) | literal_like_texts)
def test_the_fast_literal_parser_equals_ast_literal_eval_on_any_text(text):
    assert outcome(decryption.literal_eval, text) == outcome(ast.literal_eval, text)


def test_the_fast_literal_parser_equals_ast_literal_eval_on_every_sandbox_payload():
    for index in range(2000):
        text = str(sandbox_payload(42, index))
        assert outcome(decryption.literal_eval, text) == outcome(ast.literal_eval, text)


@given(payloads)
def test_json_text_parses_back_to_its_dict(payload):
    assert decryption.parse_payload(json.dumps(payload, ensure_ascii=False)) == payload


def test_the_designs_example_with_apostrophes_quotes_and_korean():
    text = (
        "{'user_id': None, 'method': 'POST', 'url': '/api/products/product/', 'inDate': '2023-03-16T07:02:56.180Z',"
        " 'name': 'api', 'detail': {'message': \"user's cart: \\\"장바구니\\\"\", 'levelname': 'INFO'}}"
    )

    payload = decryption.parse_payload(text)

    assert payload["user_id"] is None
    assert payload["detail"] == {"message": 'user\'s cart: "장바구니"', "levelname": "INFO"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/elt-never-evaluated')",
        "{'a': __import__('os').getcwd()}",
        "{'a': 1} if True else {}",
        "[1, 2, 3]",
        "'a string'",
        "{'unclosed': 1",
        "",
    ],
)
def test_text_that_is_not_a_dict_literal_is_a_bad_payload_and_never_runs(text, tmp_path):
    with pytest.raises(decryption.BadPayloadError, match="bad_payload"):
        decryption.parse_payload(text)
    assert not (tmp_path / "elt-never-evaluated").exists()


def test_a_dict_with_values_json_cannot_hold_is_a_bad_payload():
    with pytest.raises(decryption.BadPayloadError):
        decryption.to_json(decryption.parse_payload("{'when': {1, 2}}"))


def tokens(*texts: str | bytes, key: str = KEY) -> pa.RecordBatch:
    fernet = Fernet(key)
    encrypted = [fernet.encrypt(text if isinstance(text, bytes) else text.encode()).decode() for text in texts]
    return pa.RecordBatch.from_pydict(
        {
            "record_id": [f"r{number}" for number in range(len(texts))],
            "token": encrypted,
            "load_id": ["1"] * len(texts),
        }
    )


def test_each_bad_token_gets_its_reason():
    good = str({"user_id": "ab" * 32, "method": "GET", "inDate": "2023-03-16T07:02:56.180Z", "board_id": "42"})
    batch = tokens(good, "[1, 2]", b"\xff\xfe not utf-8", good)
    forged = Fernet(OLD_KEY).encrypt(good.encode()).decode()
    truncated = batch.column("token")[0].as_py()[:-10]
    batch = batch.set_column(1, "token", pa.array([*batch.column("token").to_pylist()[:3], forged]))
    batch = pa.concat_batches(
        [batch, pa.RecordBatch.from_pydict({"record_id": ["r9"], "token": [truncated], "load_id": ["1"]})]
    )

    result = decryption.decrypt_batch(batch, [KEY]).to_pylist()

    reasons = {row["record_id"]: row["reason"] for row in result}
    assert reasons == {
        "r0": None,
        "r1": "bad_payload: a list, not a dict",
        "r2": "bad_payload: not UTF-8 text",
        "r3": "invalid_token",
        "r9": "invalid_token",
    }
    assert result[0]["logged_at"] == datetime(2023, 3, 16, 7, 2, 56, 180000)
    assert result[0]["board_id"] == 42
    assert json.loads(result[0]["payload"]) == decryption.parse_payload(good)


def test_a_rotated_key_set_decrypts_tokens_of_both_keys():
    batch = pa.concat_batches([tokens("{'a': 1}", key=OLD_KEY), tokens("{'a': 2}", key=KEY)])

    result = decryption.decrypt_batch(batch, [KEY, OLD_KEY]).to_pylist()

    assert [row["reason"] for row in result] == [None, None]
    assert [json.loads(row["payload"]) for row in result] == [{"a": 1}, {"a": 2}]


def test_typed_fields_keep_odd_values_in_the_payload_only():
    fields = decryption.typed_fields(
        {"user_id": 7, "inDate": "16/03/2023", "board_id": True, "detail": "text", "method": None}
    )

    assert fields["user_id"] == "7"
    assert fields["logged_at"] is None and fields["in_date"] == "16/03/2023"
    assert fields["board_id"] is None
    assert fields["detail_message"] is None
    assert fields["method"] is None


def test_a_board_id_is_a_whole_number_only_when_sent_as_one():
    def board_id(value: object) -> int | None:
        return decryption.typed_fields({"board_id": value})["board_id"]

    assert [board_id(value) for value in (42, "42", " -7 ", "0042")] == [42, 42, -7, 42]
    # Digits that are not ASCII ('²' is a digit to `str.isdigit`), two signs, too long: kept in the payload only.
    assert [board_id(value) for value in ("²", "٣", "--5", "-", "", "1" * 19, 2**63, 1.5)] == [None] * 8


def test_an_offset_date_is_stored_as_utc():
    assert decryption.typed_fields({"inDate": "2023-03-16T16:02:56.180+09:00"})["logged_at"] == datetime(
        2023, 3, 16, 7, 2, 56, 180000
    )


def test_keys_come_from_fernet_key_newest_first_else_the_sandbox_key_for_the_sandbox_api():
    assert Settings.from_env({"FERNET_KEY": f" {KEY} , {OLD_KEY} "}).fernet_keys == [KEY, OLD_KEY]
    assert Settings.from_env({}).fernet_keys == [SANDBOX_FERNET_KEY]


def test_a_real_api_without_fernet_key_is_an_error_naming_the_variable():
    with pytest.raises(ConfigError, match="FERNET_KEY is not set"):
        Settings.from_env({"LOG_API_URL": "https://logs.example.com/"}).fernet_keys  # noqa: B018


def test_a_malformed_key_is_an_error_naming_the_variable():
    with pytest.raises(ConfigError, match="FERNET_KEY holds a value that is not a Fernet key"):
        list(decryption.decrypt_batches([tokens("{}")], ["not-a-key"], rows=1))


def test_two_processes_give_the_same_rows_in_the_same_order_as_one():
    batches = [tokens(*(str({"n": number, "part": part}) for number in range(50))) for part in range(6)]

    serial = list(decryption.decrypt_batches(batches, [KEY], rows=300, workers=1))
    parallel = list(decryption.decrypt_batches(batches, [KEY], rows=decryption.PARALLEL_FROM_ROWS, workers=2))

    assert pa.Table.from_batches(parallel).equals(pa.Table.from_batches(serial))


CALLER_WITH_A_MAIN_MODULE = """
import sys
import time
from pathlib import Path

with Path(sys.argv[1] if __name__ == "__main__" else {marks!r}).open("a") as marks:
    marks.write(__name__ + "\\n")  # what dbt's CLI would cost a worker: this module run again

if __name__ == "__main__":
    from cryptography.fernet import Fernet
    import pyarrow as pa
    from transforms import log_decryption as decryption

    key = Fernet.generate_key().decode()
    batch = pa.record_batch(
        [[f"r{{n}}" for n in range(40)], [Fernet(key).encrypt(b"{{'n': 1}}").decode()] * 40, ["1"] * 40],
        names=list(decryption.INPUT_COLUMNS),
    )
    rows = list(decryption.decrypt_batches([batch] * 6, [key], rows=decryption.PARALLEL_FROM_ROWS, workers=2))
    assert sum(done.num_rows for done in rows) == 240
"""


def test_decryption_workers_do_not_run_the_callers_main_module_again(tmp_path):
    """Under dbt the main module is dbt's CLI: seconds of imports in every worker, for nothing."""
    marks = tmp_path / "marks"
    caller = tmp_path / "caller.py"
    caller.write_text(CALLER_WITH_A_MAIN_MODULE.format(marks=str(marks)))

    run = subprocess.run(
        [sys.executable, str(caller), str(marks)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    assert marks.read_text().split() == ["__main__"]


def test_only_the_first_decrypted_row_of_a_record_is_kept():
    first = decryption.decrypt_batch(tokens("{'a': 'first'}", "not a dict"), [KEY])
    again = decryption.decrypt_batch(tokens("{'a': 'second'}", "{'b': 'fixed'}"), [KEY])

    kept = decryption.first_decrypted([first, again]).read_all().to_pylist()

    assert [(row["record_id"], json.loads(row["payload"])) for row in kept] == [
        ("r0", {"a": "first"}),
        ("r1", {"b": "fixed"}),
    ]


PARENT_OF_WORKERS = """
import os, sys, time
import pyarrow as pa
from multiprocessing import active_children, resource_tracker
from transforms import log_decryption as decryption

key = sys.argv[1]
batch = pa.record_batch({"record_id": ["r"], "token": ["not-a-token"], "load_id": ["1"]})
batches = decryption.decrypt_batches(iter([batch] * 6), [key], rows=10**9, workers=2)
next(batches)  # both workers have started and answered
pids = [child.pid for child in active_children()] + [resource_tracker._resource_tracker._pid]
print(" ".join(map(str, pids)), flush=True)
time.sleep(600)  # here the test kills this process, as a dbt killed mid-model
"""


def test_decryption_workers_and_their_resource_tracker_exit_when_their_parent_is_killed():
    """Workers of a killed dbt once waited on its queue for ever (about 165 MB each), reparented to init."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_OF_WORKERS, Fernet.generate_key().decode()],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 3, pids

    parent.kill()
    parent.wait()

    deadline = time.monotonic() + 30
    while (alive := [pid for pid in pids if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == [], "processes left behind by the killed parent"


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
