"""`logs`, `logs_quarantine` and `logs_compressed` on data polled from the sandbox API."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import duckdb
import pytest
from cryptography.fernet import Fernet

from ingestion.status import status
from sandbox import log_api as sandbox_api
from tests.workspace import Workspace

LOG_MODELS = ("logs", "logs_quarantine", "logs_compressed")
LOG_BUILD = ("build", "--select", "source:log_api+")
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def api():
    sandbox = sandbox_api.LogApiSandbox(seed=5, key=OLD_KEY)
    with sandbox_api.serving(sandbox) as url:
        yield sandbox, url


def poll_and_build(workspace: Workspace, sandbox, polls: int, dbt_arguments: tuple[str, ...] = LOG_BUILD) -> None:
    for _ in range(polls):
        workspace.ingest("logs")
        sandbox.advance(timedelta(minutes=1))
    workspace.dbt(*dbt_arguments)


def record_index(sandbox, record_id: str) -> int:
    return next(index for index in range(sandbox.published) if sandbox_api.record_id(sandbox.seed, index) == record_id)


def test_every_valid_record_is_decrypted_once_and_every_invalid_token_quarantined(tmp_path, api):
    sandbox, url = api
    sandbox.misbehaviour.invalid_token_every = 25
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)

    poll_and_build(workspace, sandbox, polls=3)

    received = {record["recordId"]: record["data"] for page in sandbox.pages_sent for record in page}
    logs = workspace.query("select record_id, payload from logs")
    quarantine = workspace.query("select record_id, data, reason from logs_quarantine")
    assert len(logs) + len(quarantine) == len(received) == 166
    assert len({record_id for record_id, _ in logs}) == len(logs)
    for record_id, payload in logs:
        index = record_index(sandbox, record_id)
        assert index % 25 != 0
        assert json.loads(payload) == sandbox_api.payload(sandbox.seed, index)
    assert {record_id for record_id, _, _ in quarantine} == {
        record_id for record_id in received if record_index(sandbox, record_id) % 25 == 0
    }
    for record_id, data, reason in quarantine:
        assert reason == "invalid_token"
        assert workspace.query(f"select data from raw.logs where record_id = '{record_id}'") == [(data,)]


def test_the_typed_columns_hold_the_payloads_fields(tmp_path, api):
    sandbox, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)

    poll_and_build(workspace, sandbox, polls=1, dbt_arguments=("run", "--select", "+logs"))

    rows = workspace.query(
        "select record_id, user_id, method, url, in_date, name, detail_message, detail_levelname, board_id from logs"
    )
    for record_id, *columns in rows:
        payload = sandbox_api.payload(sandbox.seed, record_index(sandbox, record_id))
        detail = payload["detail"]
        expected = [payload["user_id"], payload["method"], payload["url"], payload["inDate"], payload.get("name")]
        expected += [detail["message"], detail["levelname"], payload.get("board_id")]
        assert columns == expected


def test_a_rotated_key_set_decrypts_records_of_the_old_and_the_new_key(tmp_path, api):
    sandbox, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=f"{NEW_KEY},{OLD_KEY}")
    workspace.ingest("logs")
    sandbox.fernet = Fernet(NEW_KEY)
    sandbox.advance(timedelta(minutes=2))

    poll_and_build(workspace, sandbox, polls=1)

    assert workspace.query("select count(*) from logs") == [(166,)]
    assert workspace.query("select count(*) from logs_quarantine") == [(0,)]


def test_quarantined_records_move_into_logs_once_the_right_key_is_added(tmp_path, api):
    sandbox, url = api
    sandbox.fernet = Fernet(NEW_KEY)
    wrong_key = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    wrong_key.ingest("logs")

    output = wrong_key.dbt(*LOG_BUILD, succeeds=False)
    assert "log_quarantine_stays_small" in output and "FAIL" in output
    assert wrong_key.query("select count(*), min(reason) from logs_quarantine") == [(100, "invalid_token")]
    assert wrong_key.query("select count(*) from logs") == [(0,)]

    fixed = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=f"{NEW_KEY},{OLD_KEY}")
    fixed.dbt(*LOG_BUILD)

    assert fixed.query("select count(*) from logs") == [(100,)]
    assert fixed.query("select count(*) from logs_quarantine") == [(0,)]


def test_incremental_runs_equal_a_full_refresh(tmp_path, api):
    sandbox, url = api
    sandbox.misbehaviour.invalid_token_every = 30
    workspace = Workspace(tmp_path / "incremental", LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    for _ in range(3):
        poll_and_build(workspace, sandbox, polls=1)

    (tmp_path / "refreshed").mkdir()
    shutil.copy(workspace.settings.warehouse_path, tmp_path / "refreshed" / "warehouse.duckdb")
    refreshed = Workspace(tmp_path / "refreshed", LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    refreshed.dbt("run", "--full-refresh", "--select", *LOG_MODELS)

    for model in LOG_MODELS:
        query = f"select * from {model} order by record_id"
        assert workspace.query(query) == refreshed.query(query), model
    assert workspace.query("select count(*) from logs_compressed") == [(166 - 6,)]
    leftovers = "select table_name from information_schema.tables where table_name like '%dbt_tmp%'"
    assert workspace.query(leftovers) == []


def test_a_real_api_without_fernet_key_fails_the_run_naming_the_variable(tmp_path, api):
    _, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url)
    [warning] = workspace.ingest("logs").warnings
    assert warning.startswith("FERNET_KEY is not set: the log records land encrypted")

    output = workspace.dbt("run", "--select", "+logs", succeeds=False)

    assert "FERNET_KEY is not set: set it to the key the log API encrypts with" in output
    assert "Traceback" not in output and "ERROR=1 " in output
    assert workspace.query("select count(*) from raw.logs") != [(0,)], "the records landed, encrypted"


def test_malformed_and_late_records_are_each_accounted_for_and_a_gap_between_polls_warns(tmp_path, api):
    sandbox, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    late = sandbox.late_record(1)
    sandbox.misbehaviour.extra_records = [late, {"recordId": "no-data", "logtimestamp": "20230316070000"}, 42]
    workspace.ingest("logs")
    sandbox.misbehaviour.extra_records = []
    sandbox.advance(timedelta(hours=2))  # a gap: the next poll does not reach back to this one

    workspace.ingest("logs")
    output = workspace.dbt("build", "--select", "source:log_api+")

    assert "WARN 1 log_api_polls_overlap" in output
    assert "ERROR=0" in output
    assert workspace.query(f"select count(*) from logs where record_id = '{late['recordId']}'") == [(1,)]
    assert workspace.query("select record_id, data, reason from logs_quarantine order by reason") == [
        ("no-data", '{"recordId": "no-data", "logtimestamp": "20230316070000"}', "malformed: data missing"),
        (None, "42", "malformed: not a JSON object: int"),
    ]


def test_a_duplicate_raw_row_warns_and_blocks_no_model(tmp_path, api):
    _, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    workspace.ingest("logs")
    with duckdb.connect(str(workspace.settings.warehouse_path)) as warehouse:
        warehouse.execute("insert into raw.logs select * from raw.logs limit 1")

    output = workspace.dbt("build", "--select", "source:log_api+")

    assert "ERROR=0" in output and "SKIP=0" in output
    assert "WARN 1 source_unique_log_api_logs_record_id" in output
    assert workspace.query("select count(*), count(distinct record_id) from logs") == [(100, 100)]


def test_a_raw_record_whose_logtimestamp_is_not_a_time_is_quarantined_and_stops_no_build(tmp_path, api):
    """Warehouses loaded before the raw boundary refused such records hold some: every build failed (ERROR=1
    SKIP=29) and `make status` died with a traceback."""
    _, url = api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=OLD_KEY)
    workspace.ingest("logs")
    with duckdb.connect(str(workspace.settings.warehouse_path)) as warehouse:
        warehouse.execute(
            "insert into raw.logs (record_id, logtimestamp, data, _dlt_load_id, _dlt_id)"
            " select 'words', 'not-a-time', data, _dlt_load_id, 'a-row-from-before' from raw.logs limit 1"
        )

    output = workspace.dbt(*LOG_BUILD)

    assert "ERROR=0" in output and "SKIP=0" in output
    assert workspace.query("select count(*) from logs where record_id = 'words'") == [(0,)]
    [(data, reason)] = workspace.query("select data, reason from logs_quarantine where record_id = 'words'")
    assert reason == "malformed: logtimestamp is not a UTC time as YYYYmmddHHMMSS"
    assert json.loads(data)["logtimestamp"] == "not-a-time"
    shown = status(workspace.settings)
    assert "warehouse    101 rows; newest record 2023-03-16" in shown
