"""The paths the README documents, typed as a user types them in a fresh clone."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime

import duckdb
import pytest
import sqlalchemy as sa

from sandbox import orders_db as shop
from tests.workspace import as_a_user, checkout

pytestmark = pytest.mark.clone

EVERY_MODEL = (
    "logs",
    "logs_quarantine",
    "logs_compressed",
    "orders",
    "order_status_history",
    "order_status_daily",
    "export_logs_manifest",
    "export_orders_manifest",
)


def test_make_ingest_then_a_bare_dbt_run_builds_every_model_and_export_on_an_empty_warehouse(tmp_path):
    repo = checkout(tmp_path / "clone")
    user = as_a_user(repo)

    ingest = subprocess.run(["make", "ingest"], cwd=repo, env=user, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    run = subprocess.run(["dbt", "run"], cwd=repo, env=user, capture_output=True, text=True)

    assert run.returncode == 0, run.stdout[-3000:]
    assert "ERROR=0" in run.stdout and "SKIP=0" in run.stdout
    with duckdb.connect(str(repo / "data" / "warehouse.duckdb"), read_only=True) as warehouse:
        built = {name for (name,) in warehouse.execute("select table_name from information_schema.tables").fetchall()}
        assert set(EVERY_MODEL) <= built
        assert warehouse.execute("select count(*) from orders").fetchone()[0] > 0
    assert list((repo / "data" / "lake" / "exports" / "orders").glob("dt=*/*.parquet"))
    assert list((repo / "data" / "lake" / "exports" / "logs").glob("dt=*/hour=*/*.parquet"))


def test_switching_from_the_sandbox_to_a_real_orders_table_as_the_readme_says(tmp_path):
    repo = checkout(tmp_path / "clone")
    user = as_a_user(repo)
    assert subprocess.run(["make", "ingest"], cwd=repo, env=user, capture_output=True).returncode == 0
    real = sa.create_engine(f"sqlite:///{tmp_path / 'real.db'}")
    shop.orders_table().create(real)
    real_rows = [*shop.BOOK_ROWS, (4, "Pending", datetime(2020, 7, 23, 9, 0))]  # older than the sandbox's clock
    with real.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": order, "OrderStatus": status, "LastUpdated": at} for order, status, at in real_rows],
        )
    user["ORDERS_DB_URL"] = str(real.url)

    switched = subprocess.run(["make", "ingest"], cwd=repo, env=user, capture_output=True, text=True)
    refreshed = subprocess.run(
        ["make", "ingest", "ARGS=--source orders --full-refresh"], cwd=repo, env=user, capture_output=True, text=True
    )
    run = subprocess.run(["dbt", "run"], cwd=repo, env=user, capture_output=True, text=True)

    assert switched.returncode != 0
    errors = [line for line in switched.stderr.splitlines() if line.startswith("error:")]
    [error] = errors  # said once for both destinations, as the README shows it
    assert error.startswith("error: orders -> warehouse, lake: raw.orders holds orders loaded from sqlite:///")
    assert "--full-refresh" in error and "real.db table Orders" in error
    assert refreshed.returncode == 0, refreshed.stderr[-2000:]
    assert run.returncode == 0, run.stdout[-2000:]
    with duckdb.connect(str(repo / "data" / "warehouse.duckdb"), read_only=True) as warehouse:
        raw = warehouse.execute("select order_id, order_status, last_updated from raw.orders").fetchall()
        orders = warehouse.execute("select order_id, order_status from orders order by order_id").fetchall()
    assert sorted((order, status, at.replace(tzinfo=None)) for order, status, at in raw) == sorted(real_rows)
    assert orders == [(1, "Shipped"), (2, "Shipped"), (3, "Shipped"), (4, "Pending")]


def test_make_all_then_make_status_on_a_fresh_clone(tmp_path):
    repo = checkout(tmp_path / "clone")
    user = as_a_user(repo)

    everything = subprocess.run(["make", "all"], cwd=repo, env=user, capture_output=True, text=True)
    status = subprocess.run(["make", "status"], cwd=repo, env=user, capture_output=True, text=True)

    assert everything.returncode == 0, everything.stdout[-3000:] + everything.stderr[-3000:]
    assert "PASS freshness of log_api.logs" in everything.stdout
    assert "PASS freshness of orders_db.orders" in everything.stdout
    assert f"Charts (8 of 8 with data): {(repo / 'data' / 'report.html').as_uri()}" in everything.stdout
    assert status.returncode == 0, status.stderr
    blocks = status.stdout.split("\n\n")
    assert blocks[1].startswith("logs\n") and blocks[2].startswith("orders\n")
    assert all(", ok in " in block and "freshness    pass: " in block for block in blocks[1:3])

    # Then `make schedule`, with the default relative WAREHOUSE_PATH: two runs, and Ctrl-C stops it.
    # (Its own dbt had waited on the lock the scheduler held, and every run failed after minutes.)
    scheduled = subprocess.Popen(
        ["make", "schedule", "EVERY=1s"],
        cwd=repo,
        env=user,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal's foreground job: Ctrl-C reaches make and the scheduler
    )
    runs = []
    while len(runs) < 2 and (line := scheduled.stdout.readline()):
        runs += [line] if " run " in line else []
    os.killpg(scheduled.pid, signal.SIGINT)
    rest, _ = scheduled.communicate(timeout=300)
    assert len(runs) == 2 and all(" run ok in " in line for line in runs), [*runs, rest]
    assert rest.rstrip().endswith("schedule: stopped") and "Traceback" not in rest, rest
    assert scheduled.returncode in (0, -signal.SIGINT)  # make, on Ctrl-C, ends by the signal it got


def test_make_setup_installs_the_pipeline_without_spark_dagster_or_the_test_tools_and_make_all_runs_on_it(tmp_path):
    """The extras come with the targets that need them (make spark, make dagster, make test), not with every clone."""
    repo = checkout(tmp_path / "clone", set_up=False)
    user = as_a_user(repo)

    everything = subprocess.run(["make", "all"], cwd=repo, env=user, capture_output=True, text=True)

    assert everything.returncode == 0, everything.stdout[-3000:] + everything.stderr[-3000:]
    assert "PASS freshness of orders_db.orders" in everything.stdout
    installed = subprocess.run(
        [str(repo / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    assert "dlt==" in installed and "dbt-duckdb==" in installed and "harlequin==" in installed
    for extra in ("pyspark", "dagster", "pytest", "hypothesis", "moto", "ruff", "sqlfluff"):
        assert f"\n{extra}==" not in f"\n{installed}", extra
    assert not list((repo / ".venv").glob(".installed-*"))
