"""Operations: one run at a time per warehouse, and no run outlives the command that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runtime.run_lock import lock_path, run_lock
from settings import REPO_ROOT
from tests.readers import LOG_COLUMNS, warehouse_rows
from tests.workspace import Workspace, as_a_user, checkout


@pytest.fixture
def held_api(log_api):
    """The sandbox log API, whose answers wait until the test releases them."""
    sandbox, url = log_api
    sandbox.misbehaviour.hold = threading.Event()
    yield sandbox, url
    sandbox.misbehaviour.hold.set()


def start(command: list[str], environment: dict[str, str], folder: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=folder, env=environment, stderr=subprocess.PIPE, text=True)


def wait_for_line(process: subprocess.Popen, text: str) -> None:
    for line in process.stderr:
        if text in line:
            return
    raise AssertionError(f"the process ended without printing {text!r}")


def gone(pid: int) -> bool:
    """True once no process has `pid` (checked for up to a minute)."""
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_second_run_or_dbt_waits_then_exits_with_one_line_naming_the_holder(tmp_path, held_api):
    sandbox, url = held_api
    workspace = Workspace(tmp_path, LOG_API_URL=url, LOG_API_TIMEOUT_SECONDS="600", LOCK_WAIT_SECONDS="1")
    first = start([sys.executable, "-m", "ingestion", "run", "--source", "logs"], workspace.environment, tmp_path)
    wait_for_line(first, "logs: polling")  # it holds the lock, and its poll waits for the test

    second = workspace.cli("ingestion", "run", "--source", "logs")
    dbt = workspace.dbt("run", succeeds=False)
    shell = workspace.cli("warehouse", "sql", input="select 1;")

    assert second.returncode == 75
    assert shell.returncode == 75, shell.stderr
    assert shell.stderr.strip().splitlines()[-1].startswith("error: another run holds the warehouse "), shell.stderr
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: another run holds the warehouse {workspace.settings.warehouse_path}: ")
    assert f"pid {first.pid} (python -m ingestion run --source logs) since " in last
    assert "LOCK_WAIT_SECONDS" in last
    assert f"pid {first.pid} (python -m ingestion run --source logs)" in dbt
    sandbox.misbehaviour.hold.set()
    assert first.wait() == 0
    assert len(warehouse_rows(workspace.settings, "logs", LOG_COLUMNS)) == 100


TAKE_THE_LOCK = """
from pathlib import Path
from runtime.run_lock import run_lock
with run_lock(Path("data/warehouse.duckdb"), "dbt build", 0):
    print("taken")
"""


@pytest.mark.parametrize("holder", ["absolute", "through a symlink"])
def test_a_command_the_lock_holder_starts_takes_it_with_the_default_relative_warehouse_path(tmp_path, holder):
    """`make schedule` with the default settings: its dbt named `data/warehouse.duckdb`, the scheduler the
    absolute path, so dbt waited on the lock its own scheduler held and the run failed after minutes."""
    (tmp_path / "data").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "data")
    folder = tmp_path / ("data" if holder == "absolute" else "linked")
    with run_lock(folder / "warehouse.duckdb", "python -m warehouse schedule", 0):
        child = subprocess.run(
            [sys.executable, "-c", TAKE_THE_LOCK],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (child.returncode, child.stdout) == (0, "taken\n"), child.stderr


def test_a_lock_whose_holder_died_is_taken_at_once(tmp_path, held_api):
    _, url = held_api
    workspace = Workspace(tmp_path, LOG_API_URL=url, LOG_API_TIMEOUT_SECONDS="600", LOCK_WAIT_SECONDS="0")
    crashed = start([sys.executable, "-m", "ingestion", "run", "--source", "logs"], workspace.environment, tmp_path)
    wait_for_line(crashed, "logs: polling")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    left = json.loads(lock_path(workspace.settings.warehouse_path).read_text())
    assert left["pid"] == crashed.pid, "the dead holder's note is still there"

    after = workspace.cli("ingestion", "run", "--source", "orders")

    assert after.returncode == 0, after.stderr


@pytest.mark.clone
@pytest.mark.parametrize("command", [["make", "ingest", "ARGS=--source logs"], ["make", "all"]], ids=" ".join)
def test_killing_make_stops_the_run_it_started(tmp_path, held_api, command):
    """`make all` had run the loader under a sub-make, which outlived a SIGKILL of the make above it."""
    _, url = held_api
    repo = checkout(tmp_path / "clone")
    environment = {**as_a_user(repo), "LOG_API_URL": url, "LOG_API_TIMEOUT_SECONDS": "600"}
    make = start(command, environment, repo)
    wait_for_line(make, "logs: polling")
    run = json.loads(lock_path(repo / "data" / "warehouse.duckdb").read_text())

    make.send_signal(signal.SIGKILL)
    make.wait()

    assert run["command"].startswith("python -m ingestion run")
    assert gone(run["pid"]), "the loader outlived make"


def test_the_iam_policies_let_the_loader_write_only_raw_and_dbt_write_only_exports():
    def writable(policy: str) -> set[str]:
        statements = json.loads((REPO_ROOT / "docs" / "iam" / policy).read_text())["Statement"]
        return {
            statement["Resource"]
            for statement in statements
            if statement["Effect"] == "Allow" and "s3:PutObject" in statement["Action"]
        }

    assert writable("loader-policy.json") == {"arn:aws:s3:::BUCKET/PREFIX/raw/*"}
    assert writable("dbt-policy.json") == {"arn:aws:s3:::BUCKET/PREFIX/exports/*"}
