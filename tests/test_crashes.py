"""A run killed at any step, then run again as usual, leaves every source row once in both destinations.

The kills are deterministic: `tests/faults.py` wraps dlt's own method at each step and sends
SIGKILL there, so no test depends on timing luck.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sandbox import orders_db as shop
from tests.faults import STEPS
from tests.readers import assert_each_record_and_row_once, seeded


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

    def ingest(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", *arguments], cwd=tmp_path, env=environment, capture_output=True, text=True
        )

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
