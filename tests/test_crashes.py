"""A run killed at any step, then run again as usual, leaves every source row once in both destinations.

The kills are deterministic: `tests/faults.py` wraps dlt's own method at each step and sends
SIGKILL there, so no test depends on timing luck.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ingestion.loaders import READS
from sandbox import orders_db as shop
from settings import REPO_ROOT
from tests.faults import DBT_STEPS, STEPS
from tests.readers import assert_each_record_and_row_once, seeded
from tests.workspace import Workspace, python_module


@pytest.mark.parametrize("source", ["logs", "orders"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_run_killed_at_any_step_is_completed_by_the_next_without_doubles_or_losses(
    step, source, project, log_api, tmp_path
):
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

    def ingest(module: str, *arguments: str) -> subprocess.CompletedProcess:
        return python_module(module, arguments, tmp_path, environment)

    assert ingest("ingestion", "run").returncode == 0
    sandbox.advance(timedelta(minutes=1))
    engine = sa.create_engine(orders_url)
    shop.advance(engine)
    engine.dispose()

    killed = ingest("tests.faults", step, "--source", source)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    finished = ingest("ingestion", "run")

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_each_record_and_row_once(settings, sandbox, orders_url)
    assert not list((settings.pipelines_dir / READS).glob("*")), "what the killed run read is removed"


@pytest.mark.long
@pytest.mark.parametrize("step", list(DBT_STEPS))
def test_a_dbt_build_killed_mid_model_or_mid_export_is_made_whole_by_the_next_build(step, tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.seed(engine, orders=40)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url))
    workspace.ingest()
    workspace.dbt("build")
    shop.advance(engine)
    workspace.ingest()

    killed = workspace.cli(
        "tests.faults",
        step,
        "build",
        *("--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)),
        *("--target-path", str(workspace.folder / "target"), "--log-path", str(workspace.folder)),
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    workspace.dbt("build")

    models = {
        "orders": "select order_id, order_status, last_updated_at, first_updated_at, status_changes from orders",
        "order_status_history": (
            "select order_id, order_status, valid_from, valid_to, is_current from order_status_history"
        ),
        "logs_compressed": "select * exclude (load_id) from logs_compressed",
    }
    rebuilt = Workspace(tmp_path / "rebuilt", ORDERS_DB_URL=str(engine.url))
    rebuilt.settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(workspace.settings.warehouse_path, rebuilt.settings.warehouse_path)
    rebuilt.dbt("run", "--full-refresh", "--exclude", "path:models/exports")
    for model, sql in models.items():
        assert sorted(workspace.query(sql)) == sorted(rebuilt.query(sql)), model
    lake = workspace.settings.lake_url
    for export, table, keys in (("orders", "orders", "dt"), ("logs", "logs_compressed", "dt, hour")):
        exported = f"read_parquet('{lake}/exports/{export}/**/*.parquet', hive_partitioning = true)"
        differences = workspace.query(
            f"(select * exclude ({keys}) from {exported} except all select * from {table})"
            f" union all (select * from {table} except all select * exclude ({keys}) from {exported})"
        )
        assert differences == [], export
