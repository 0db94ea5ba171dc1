"""Both destinations end with the same rows: on S3, after a failed destination, after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa

from ingestion import runner
from sandbox import orders_db as shop
from tests.readers import (
    LOG_COLUMNS,
    ORDER_COLUMNS,
    assert_destinations_hold,
    lake_rows,
    seeded,
    source_orders,
    warehouse_rows,
)
from tests.workspace import python_module


def test_mariadb_and_s3_land_the_same_rows_in_the_bucket_and_the_warehouse(project, log_api, mysql_url, s3_lake):
    sandbox, api_url = log_api
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=seeded(mysql_url), **s3_lake)

    report = runner.run(settings)
    engine = sa.create_engine(mysql_url)
    shop.advance(engine)
    engine.dispose()
    sandbox.advance(timedelta(minutes=2))
    report = runner.run(settings)

    assert report.ok, report.errors
    assert report.where["lake"].format(table="logs") == f"{s3_lake['LAKE_URL']}/raw/logs/"
    assert_destinations_hold(settings, sandbox, mysql_url)


def test_an_unreachable_s3_endpoint_fails_the_run_with_one_line_and_loads_nothing(project, log_api, tmp_path):
    _, api_url = log_api
    settings = project(
        LOG_API_URL=api_url,
        LAKE_URL="s3://nowhere/lake",
        AWS_ENDPOINT_URL="http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
    )

    report = runner.run(settings)

    [error] = report.errors
    assert "AWS_ENDPOINT_URL" in error and "nowhere" in error and "\n" not in error
    assert warehouse_rows(settings, "logs", LOG_COLUMNS) == []


def test_a_destination_that_failed_is_completed_by_the_next_run(project, log_api, tmp_path):
    sandbox, api_url = log_api
    orders_url = seeded(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    settings = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url)
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")

    failed = runner.run(settings)
    assert {error.split(":")[0] for error in failed.errors} == {"logs -> lake", "orders -> lake"}
    assert failed.rows[("logs", "warehouse")] == 100

    blocker.unlink()
    sandbox.advance(timedelta(minutes=3))  # the first poll's records are no longer served
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()
    completed = runner.run(settings)

    assert completed.ok, completed.errors
    assert completed.completed_earlier == {"lake"}
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
    runner.run(settings)
    sandbox.advance(timedelta(minutes=1))
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()
    runner.run(settings)

    moved = project(LOG_API_URL=api_url, ORDERS_DB_URL=orders_url, WAREHOUSE_PATH=str(tmp_path / "new.duckdb"))
    report = runner.run(moved)

    assert report.ok, report.errors
    assert warehouse_rows(moved, "orders", ORDER_COLUMNS) == source_orders(orders_url)
    served_now = sorted((r["recordId"], r["logtimestamp"], r["data"]) for r in sandbox.pages_sent[-1])
    assert warehouse_rows(moved, "logs", LOG_COLUMNS) == served_now
    [note] = report.notes
    assert note.startswith(f"warehouse at {tmp_path / 'new.duckdb'}") and "cannot be fetched again" in note
    assert lake_rows(moved, "orders", ORDER_COLUMNS) == source_orders(orders_url), "the lake goes on as before"
