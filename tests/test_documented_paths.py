"""The paths the README documents, typed as a user types them in a fresh clone."""

from __future__ import annotations

import subprocess

import duckdb

from tests.workspace import as_a_user, checkout

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
