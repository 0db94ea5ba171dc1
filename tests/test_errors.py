"""A wrong setting, or a source that refuses, ends in one `error:` line naming what to fix: never a traceback."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa

from ingestion.errors import root_cause
from sandbox import orders_db as shop
from tests.workspace import Workspace, python_module


def last_line_of(run) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    return run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "url", ["not a url", "mysql+mysqldb://user@127.0.0.1/shop", "nosuchdialect://host/db"], ids=str
)
def test_an_orders_db_url_that_cannot_be_opened(tmp_path, url):
    run = Workspace(tmp_path, ORDERS_DB_URL=url).cli("ingestion", "run", "--source", "orders")

    assert run.returncode == 1
    line = last_line_of(run)
    assert line.startswith("error: ORDERS_DB_URL ") and "set it like mysql+pymysql://" in line


def test_a_warehouse_path_under_a_regular_file(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    run = Workspace(tmp_path, WAREHOUSE_PATH=str(tmp_path / "a-file" / "warehouse.duckdb")).cli("ingestion", "run")

    assert run.returncode == 2
    assert last_line_of(run) == (
        f"error: WAREHOUSE_PATH {tmp_path}/a-file/warehouse.duckdb is under {tmp_path}/a-file, which is a file, "
        "not a folder: point WAREHOUSE_PATH at a path in a folder"
    )


@pytest.mark.parametrize("lake", ["s3:/bucket", "s3://", "s3:///prefix"])
def test_a_lake_url_without_a_bucket(tmp_path, lake):
    workspace = Workspace(tmp_path)
    workspace.environment["LAKE_URL"] = lake
    run = workspace.cli("ingestion", "run")

    assert run.returncode == 2
    assert last_line_of(run).startswith("error: LAKE_URL must be s3://bucket/prefix")
    assert not (tmp_path / "pipelines").exists(), "nothing was extracted for a lake that does not exist"


@pytest.mark.parametrize(
    ("status", "advice"),
    [(401, "check the credentials in LOG_API_URL"), (403, "check the credentials"), (404, "check LOG_API_URL")],
)
def test_a_4xx_answer_names_what_to_check_and_is_not_retried(tmp_path, log_api, status, advice):
    sandbox, url = log_api
    sandbox.fail_next(status, status, status)

    run = Workspace(tmp_path, LOG_API_URL=url).cli("ingestion", "run", "--source", "logs")

    assert run.returncode == 1
    line = last_line_of(run)
    assert line.startswith(f"error: log API at {url} ") and str(status) in line and advice in line
    assert "attempts" not in line
    assert len(sandbox.misbehaviour.failures) == 2, "asked once, not retried"


def test_an_answer_over_the_size_cap_is_refused_without_reading_it_all(tmp_path, log_api):
    sandbox, url = log_api
    sandbox.misbehaviour.extra_records = [{"padding": "x" * 200_000}]

    run = Workspace(tmp_path, LOG_API_URL=url, LOG_API_MAX_BYTES="100000").cli("ingestion", "run", "--source", "logs")

    assert run.returncode == 1
    line = last_line_of(run)
    assert "answered more than 100,000 bytes" in line and "LOG_API_MAX_BYTES" in line


def test_the_sandbox_seed_command_with_a_bad_url(tmp_path):
    run = Workspace(tmp_path).cli("sandbox", "seed-orders", "--url", "nosuchdialect://x")

    assert run.returncode == 2
    assert last_line_of(run).startswith("error: cannot use the database at --url")


@pytest.mark.timeout(120)
def test_an_api_that_answers_too_slowly_for_the_deadline_ends_the_poll_with_one_line(tmp_path, log_api):
    """Bytes keep coming, so no read ever times out: without a deadline the poll took minutes for 30 KB."""
    sandbox, url = log_api
    sandbox.misbehaviour.trickle_bytes_per_second = 200
    workspace = Workspace(tmp_path, LOG_API_URL=url, LOG_API_TIMEOUT_SECONDS="2", LOG_API_DEADLINE_SECONDS="3")

    run = workspace.cli("ingestion", "run", "--source", "logs")

    assert run.returncode == 1
    line = last_line_of(run)
    assert line.startswith(f"error: log API at {url} ") and "within 3 s" in line and "LOG_API_DEADLINE_SECONDS" in line


@pytest.mark.mysql
def test_a_connection_killed_mid_read_ends_in_one_line_and_is_recorded(tmp_path, mysql_url):
    """connectorx panics (a Rust panic, not an `Exception`) when the server drops it mid-read."""
    engine = sa.create_engine(mysql_url)
    shop.seed(engine, "OrdersBase", orders=300)
    with engine.begin() as connection:  # each row waits 5 ms: the read is still running when it is killed
        connection.exec_driver_sql("create view Orders as select * from OrdersBase where sleep(0.005) = 0")
    database = sa.make_url(mysql_url).database
    killed = threading.Event()

    def kill_the_read() -> None:
        deadline = time.monotonic() + 120
        while not killed.is_set() and time.monotonic() < deadline:
            with engine.connect() as connection:
                sleeping = connection.exec_driver_sql(
                    "select id from information_schema.processlist where db = %s and state = 'User sleep'",
                    (database,),
                ).scalars()
                for connection_id in sleeping:
                    connection.exec_driver_sql(f"kill {connection_id}")
                    killed.set()
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_read)
    killer.start()
    workspace = Workspace(tmp_path, ORDERS_DB_URL=mysql_url)
    run = workspace.cli("ingestion", "run", "--source", "orders")
    killer.join()
    engine.dispose()

    assert killed.is_set() and run.returncode == 1
    line = last_line_of(run)
    assert line.startswith("error: orders -> ") and "server disconnected" in line and "for the next run" in line
    last_runs = json.loads((workspace.settings.pipelines_dir / "last_runs.json").read_text())
    assert "server disconnected" in last_runs["orders"]["errors"][0]


def test_an_answer_cut_short_says_so_in_one_line_not_that_attempts_failed(tmp_path, log_api):
    sandbox, url = log_api
    sandbox.misbehaviour.cut_after_bytes = 500

    run = Workspace(tmp_path, LOG_API_URL=url).cli("ingestion", "run", "--source", "logs")

    assert run.returncode == 1
    line = last_line_of(run)
    assert line.startswith(f"error: log API at {url} broke off its answer after 500 of ") and "attempts" not in line
    assert "nothing from this poll was loaded" in line


@pytest.mark.mysql
def test_a_run_killed_as_its_read_watch_starts_leaves_no_watch_holding_the_lock(tmp_path, mysql_url):
    """The watch, forked from the run, shares its lock: killed before the watch asked to die with it, the run
    left a watch that slept out ORDERS_READ_DEADLINE_SECONDS (an hour), holding the warehouse from every run."""
    rows = shop.seed(sa.create_engine(mysql_url), "Orders", orders=5)
    workspace = Workspace(tmp_path, ORDERS_DB_URL=mysql_url, LOCK_WAIT_SECONDS="10")
    watch_pid_file = tmp_path / "watch.pid"
    killed = python_module(
        "tests.faults",
        ("after-the-read-watch-forks", str(watch_pid_file), "--source", "orders"),
        tmp_path,
        workspace.environment,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    try:
        after = workspace.cli("ingestion", "run", "--source", "orders")
    finally:
        watch = int(watch_pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(watch, signal.SIGKILL)

    assert after.returncode == 0, after.stderr[-2000:]
    assert workspace.query("select count(*) from raw.orders") == [(rows,)]


def _write_to_a_full_disk() -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_an_error_raised_in_a_worker_process_is_named_by_its_own_cause_not_the_workers_traceback():
    """dlt normalizes in a process pool when it has more than one file: the worker's exception comes back with the
    pool's `_RemoteTraceback` (the worker's whole traceback, as text) as its cause."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(_write_to_a_full_disk).result()
        except OSError as error:
            try:
                raise RuntimeError("Pipeline execution failed at stage normalize") from error
            except RuntimeError as failed:
                line = root_cause(failed)

    assert line == "OSError: [Errno 28] No space left on device"


@pytest.fixture
def full_folder(tmp_path):
    """A folder on a file system of 300 KiB (a tmpfs, mounted for the test: it needs root, as `make test` has)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(folder)], capture_output=True)
    assert mount.returncode == 0, f"cannot mount a small tmpfs (run the tests as root): {mount.stderr.decode()}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_pipelines_dir_ends_in_error_lines_not_dlts_tracebacks(tmp_path, full_folder):
    """Hundreds of lines of dlt's retries and a traceback from writing last_runs.json, before."""
    run = Workspace(tmp_path, PIPELINES_DIR=str(full_folder / "pipelines")).cli("ingestion", "run")

    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "[WARNING]" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors and all("No space left on device" in line for line in errors)
    assert errors[-1].startswith(f"error: cannot record this run in {full_folder / 'pipelines'}")
    assert len(run.stderr.splitlines()) < 20


@pytest.mark.mysql
def test_an_orders_read_past_its_deadline_ends_the_run_with_one_line_and_is_recorded(tmp_path, mysql_url):
    """A stalled source: every row takes a second (a view that sleeps), so the read would take minutes."""
    engine = sa.create_engine(mysql_url)
    shop.seed(engine, "OrdersBase", orders=20)
    with engine.begin() as connection:
        connection.exec_driver_sql("create view Orders as select * from OrdersBase where sleep(1) = 0")
    workspace = Workspace(tmp_path, ORDERS_DB_URL=mysql_url, ORDERS_READ_DEADLINE_SECONDS="3")

    run = workspace.cli("ingestion", "run", "--source", "orders")
    with engine.connect() as connection:  # the server would go on with the read it was left with
        database = sa.make_url(mysql_url).database
        for connection_id in connection.exec_driver_sql(
            "select id from information_schema.processlist where db = %s and state = 'User sleep'", (database,)
        ).scalars():
            connection.exec_driver_sql(f"kill {connection_id}")
    engine.dispose()

    assert run.returncode == -signal.SIGKILL  # stopped by its watch: native code cannot be interrupted
    line = last_line_of(run)
    assert line.startswith("error: orders: reading and loading took longer than 3 s (ORDERS_READ_DEADLINE_SECONDS)")
    last_runs = json.loads((workspace.settings.pipelines_dir / "last_runs.json").read_text())
    assert "ORDERS_READ_DEADLINE_SECONDS" in last_runs["orders"]["errors"][0]
