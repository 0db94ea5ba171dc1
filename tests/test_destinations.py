"""Both destinations end with the same rows: on S3, after a failed destination, after a crash."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from dlt.common.storages.load_storage import LoadStorage

from ingestion.destinations import targets, working_folder
from ingestion.status import status
from sandbox import orders_db as shop
from tests.readers import (
    LOG_COLUMNS,
    ORDER_COLUMNS,
    assert_destinations_hold,
    assert_each_record_and_row_once,
    lake_rows,
    seeded,
    source_orders,
    warehouse_rows,
)
from tests.workspace import python_module, run_with_sandboxes


def test_mariadb_and_s3_land_the_same_rows_in_the_bucket_and_the_warehouse(project, log_api, mysql_url, s3_lake):
    sandbox, api_url = log_api
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=seeded(mysql_url), **s3_lake)

    report = run_with_sandboxes(settings)
    engine = sa.create_engine(mysql_url)
    shop.advance(engine)
    engine.dispose()
    sandbox.advance(timedelta(minutes=2))
    report = run_with_sandboxes(settings)

    assert report.ok, report.errors
    assert report.where["lake"].format(table="logs") == f"{s3_lake['LAKE_URL']}/raw/logs/"
    assert_destinations_hold(settings, sandbox, mysql_url)


def test_an_unreachable_s3_lake_fails_with_one_line_and_the_warehouse_still_loads(project, log_api, tmp_path):
    _, api_url = log_api
    settings = project(
        LOG_API_URL=api_url,
        LAKE_URL="s3://nowhere/lake",
        AWS_ENDPOINT_URL="http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
    )

    report = run_with_sandboxes(settings)

    [error] = report.errors
    assert error.startswith("lake: cannot reach the lake bucket 'nowhere'") and "\n" not in error
    assert "AWS_ENDPOINT_URL" in error and "nothing is lost" in error
    assert len(warehouse_rows(settings, "logs", LOG_COLUMNS)) == 100
    assert report.rows[("orders", "warehouse")] > 0


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` cannot be written, not even by root (the tests run as root, whom `chmod` does not stop)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.long
def test_a_warehouse_down_for_four_runs_gets_every_record_and_row_once_it_is_back(project, log_api, tmp_path):
    """Its copy of each poll was never extracted, so 65 log records the lake held never reached raw.logs."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    assert run_with_sandboxes(settings).ok
    engine = sa.create_engine(orders_url)

    with immutable(settings.warehouse_path):
        for _ in range(4):
            sandbox.advance(timedelta(minutes=1))
            shop.advance(engine)
            down = run_with_sandboxes(settings)
            assert down.errors and all("-> warehouse: " in error and "\n" not in error for error in down.errors)
            assert down.rows[("logs", "lake")] > 0 and ("logs", "warehouse") not in down.rows
    shown = status(settings)
    assert "load package(s) pending: the next run loads them first; 4 log poll(s) kept for it" in shown
    sandbox.advance(timedelta(minutes=4))  # none of the outage's records is served any more
    shop.advance(engine)
    engine.dispose()
    back = run_with_sandboxes(settings)

    assert back.ok, back.errors
    assert_destinations_hold(settings, sandbox, orders_url)
    assert list(settings.pipelines_dir.rglob("waiting_polls/*/*.json")) == [], "every kept poll was taken"


@pytest.mark.long
def test_a_hung_s3_lake_is_left_out_for_seconds_and_gets_every_record_once_it_answers(
    project, log_api, tmp_path, s3_lake, hung_endpoint
):
    """A hung lake once aborted every run after 160 s, and the healthy warehouse got nothing."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    hung = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url, **{**s3_lake, "AWS_ENDPOINT_URL": hung_endpoint})
    engine = sa.create_engine(orders_url)

    for _ in range(2):
        sandbox.advance(timedelta(minutes=2))
        shop.advance(engine)
        report = run_with_sandboxes(hung)
        [error] = report.errors
        assert error.startswith("lake: cannot reach the lake bucket") and "AWS_ENDPOINT_URL" in error
        assert report.rows[("logs", "warehouse")] > 0 and report.rows[("orders", "warehouse")] > 0
    sandbox.advance(timedelta(minutes=4))  # the first polls' records are no longer served
    engine.dispose()
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url, **s3_lake)
    back = run_with_sandboxes(settings)

    assert back.ok, back.errors
    assert_destinations_hold(settings, sandbox, orders_url)


def test_a_destination_that_failed_is_completed_by_the_next_run(project, log_api, tmp_path):
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")

    failed = run_with_sandboxes(settings)
    assert {error.split(":")[0] for error in failed.errors} == {"logs -> lake", "orders -> lake"}
    assert failed.rows[("logs", "warehouse")] == 100

    blocker.unlink()
    sandbox.advance(timedelta(minutes=3))  # the first poll's records are no longer served
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()
    completed = run_with_sandboxes(settings)

    assert completed.ok, completed.errors
    assert completed.completed_earlier == {"lake"}
    assert_destinations_hold(settings, sandbox, orders_url)


def test_a_package_left_for_one_warehouse_waits_for_it_while_settings_name_another(project, log_api, tmp_path):
    """A killed run's package went into whichever warehouse the settings named next: the new one then failed
    on every run, and the first lost those records for good."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    first = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    second = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url, WAREHOUSE_PATH=str(tmp_path / "second.duckdb"))
    environment = {
        **os.environ,
        "LOG_API_URL": api_url,
        "ORDERS_DB_URL": orders_url,
        "WAREHOUSE_PATH": str(first.warehouse_path),
        "LAKE_URL": first.lake_url,
        "PIPELINES_DIR": str(first.pipelines_dir),
    }
    assert run_with_sandboxes(first).ok
    sandbox.advance(timedelta(minutes=1))
    killed = python_module("tests.faults", ("during-normalize", "--source", "logs"), tmp_path, environment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    sandbox.advance(timedelta(minutes=1))
    sandbox.misbehaviour.extra_records = ["just a string"]  # the second warehouse gets raw.logs_rejected
    elsewhere = run_with_sandboxes(second)
    sandbox.misbehaviour.extra_records = []
    assert elsewhere.ok, elsewhere.errors
    served = sorted(
        (record["recordId"], record["logtimestamp"], record["data"])
        for record in sandbox.pages_sent[-1]
        if isinstance(record, dict)
    )
    assert warehouse_rows(second, "logs", LOG_COLUMNS) == served, "the second holds its own load only"

    sandbox.advance(timedelta(minutes=1))
    back = run_with_sandboxes(first)

    assert back.ok, back.errors
    assert back.completed_earlier == {"warehouse"}
    assert_each_record_and_row_once(first, sandbox, orders_url)


def test_what_an_earlier_version_kept_in_pipelines_dir_moves_to_each_destinations_folder(project, log_api, tmp_path):
    """Earlier versions kept one `<PIPELINES_DIR>/elt_<destination>` for every location: its pending package
    and state move to the folder of the destination the settings name."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    environment = {
        **os.environ,
        "LOG_API_URL": api_url,
        "ORDERS_DB_URL": orders_url,
        "WAREHOUSE_PATH": str(settings.warehouse_path),
        "LAKE_URL": settings.lake_url,
        "PIPELINES_DIR": str(settings.pipelines_dir),
    }
    assert run_with_sandboxes(settings).ok
    sandbox.advance(timedelta(minutes=1))
    killed = python_module("tests.faults", ("during-normalize",), tmp_path, environment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    for target in targets(settings):  # the earlier layout
        folder = working_folder(settings, target)
        (folder / f"elt_{target.name}").rename(settings.pipelines_dir / f"elt_{target.name}")
        shutil.rmtree(folder)

    sandbox.advance(timedelta(minutes=1))
    report = run_with_sandboxes(settings)

    assert report.ok, report.errors
    assert report.completed_earlier == {"warehouse", "lake"}
    assert not (settings.pipelines_dir / "elt_warehouse").exists()
    assert_each_record_and_row_once(settings, sandbox, orders_url)


def test_a_lake_recreated_empty_while_a_package_is_pending_gets_a_complete_load(project, log_api, tmp_path):
    """The pending package recreated the dataset first, so the complete load was skipped: 34 orders of 549."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    environment = {
        **os.environ,
        "LOG_API_URL": api_url,
        "ORDERS_DB_URL": orders_url,
        "WAREHOUSE_PATH": str(settings.warehouse_path),
        "LAKE_URL": settings.lake_url,
        "PIPELINES_DIR": str(settings.pipelines_dir),
    }
    assert run_with_sandboxes(settings).ok
    sandbox.advance(timedelta(minutes=1))
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()
    killed = python_module("tests.faults", ("during-load-into-lake",), tmp_path, environment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    shutil.rmtree(settings.lake_url)

    sandbox.advance(timedelta(minutes=1))
    report = run_with_sandboxes(settings)

    assert report.ok, report.errors
    assert any(note.startswith("lake at ") and "starts a complete load" in note for note in report.notes)
    assert lake_rows(settings, "orders", ORDER_COLUMNS) == source_orders(orders_url)
    served_since = {record["recordId"] for page in sandbox.pages_sent[1:] for record in page}
    assert sorted(row[0] for row in lake_rows(settings, "logs", LOG_COLUMNS)) == sorted(served_since)
    assert_each_record_and_row_once(settings, sandbox, orders_url, destinations=(warehouse_rows,))


def test_a_disk_full_during_normalize_keeps_the_packages_and_the_next_run_loads_them(
    project, log_api, tmp_path, monkeypatch
):
    """Each was reported as failed for good and moved aside, where a user following the message deletes good data."""
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as disk:
        disk.setattr(LoadStorage, "commit_new_load_package", disk_full)
        full = run_with_sandboxes(settings)
    assert len(full.errors) == 4, full.errors
    assert all(
        "No space left on device" in error and error.endswith("(kept; the next run loads it first)")
        for error in full.errors
    )
    assert not list(settings.pipelines_dir.rglob("failed_packages/*/*"))

    sandbox.advance(timedelta(minutes=1))
    completed = run_with_sandboxes(settings)

    assert completed.ok, completed.errors
    assert completed.completed_earlier == {"warehouse", "lake"}
    assert_destinations_hold(settings, sandbox, orders_url)


def test_a_run_killed_mid_load_is_completed_by_the_next_without_duplicates(project, log_api, tmp_path):
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    environment = {
        **os.environ,
        "LOG_API_URL": api_url,
        "ORDERS_DB_URL": orders_url,
        "WAREHOUSE_PATH": str(settings.warehouse_path),
        "LAKE_URL": settings.lake_url,
        "PIPELINES_DIR": str(settings.pipelines_dir),
    }

    for kill_at in ("logs -> lake: loading", "orders -> warehouse: loading", "orders -> lake: loading"):
        sandbox.advance(timedelta(minutes=1))
        _run_until(environment, kill_at, tmp_path)
    finished = python_module("ingestion", ("run",), tmp_path, environment)

    assert finished.returncode == 0, finished.stderr
    assert_destinations_hold(settings, sandbox, orders_url)


def test_the_embedded_defaults_need_no_configuration_and_move_on_every_run(tmp_path):
    environment = {
        **os.environ,
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LAKE_URL": str(tmp_path / "lake"),
        "PIPELINES_DIR": str(tmp_path / "pipelines"),
        "SANDBOX_DIR": str(tmp_path / "sandbox"),
    }

    runs = [python_module("ingestion", ("run",), tmp_path, environment) for _ in range(2)]

    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr
    assert "serving the sandbox log API" in runs[0].stderr
    shop_url = f"sqlite:///{tmp_path / 'sandbox' / 'shop.sqlite'}"
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        logs = connection.execute("select count(*), count(distinct record_id) from raw.logs").fetchone()
        orders = connection.execute("select count(*) from raw.orders").fetchone()[0]
    assert logs[0] == logs[1] > 100, "the second run polls records the first had not seen"
    assert orders == len(source_orders(shop_url)) > len(shop.BOOK_ROWS)


@pytest.mark.long
def test_a_failing_source_exits_non_zero_with_an_error_line(tmp_path):
    environment = {
        **os.environ,
        "LOG_API_URL": "http://127.0.0.1:1/",
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LAKE_URL": str(tmp_path / "lake"),
        "PIPELINES_DIR": str(tmp_path / "pipelines"),
    }

    run = python_module("ingestion", ("run", "--source", "logs"), tmp_path, environment)

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: log API at http://127.0.0.1:1/ failed after 5 attempts")
    assert "check LOG_API_URL" in last


def _run_until(environment: dict[str, str], line: str, folder) -> None:
    """Starts `python -m ingestion run` and kills it (SIGKILL) as soon as it prints `line`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ingestion", "run"],
        cwd=folder,
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    for output in process.stderr:
        if output.strip() == line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    process.stderr.close()


def test_a_new_warehouse_gets_a_complete_load_of_its_own_and_is_told_what_history_it_lacks(project, log_api, tmp_path):
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings)
    sandbox.advance(timedelta(minutes=1))
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()
    run_with_sandboxes(settings)

    moved = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url, WAREHOUSE_PATH=str(tmp_path / "new.duckdb"))
    report = run_with_sandboxes(moved)

    assert report.ok, report.errors
    assert warehouse_rows(moved, "orders", ORDER_COLUMNS) == source_orders(orders_url)
    served_now = sorted((r["recordId"], r["logtimestamp"], r["data"]) for r in sandbox.pages_sent[-1])
    assert warehouse_rows(moved, "logs", LOG_COLUMNS) == served_now
    [note] = report.notes
    assert note.startswith(f"warehouse at {tmp_path / 'new.duckdb'}") and "cannot be fetched again" in note
    assert lake_rows(moved, "orders", ORDER_COLUMNS) == source_orders(orders_url), "the lake goes on as before"
