"""The optional Dagster extra: the ingestion and every dbt model as assets, one run at a time."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from settings import REPO_ROOT, SANDBOX_FERNET_KEY
from tests.workspace import Workspace

# Importing the definitions runs `dbt parse` into the repository's target/dagster: one worker at a time.
pytestmark = pytest.mark.xdist_group("dagster")

HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from settings.run_lock import run_lock
with run_lock(Path(sys.argv[1]), "make schedule", 0):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def definitions(tmp_path, log_api, monkeypatch):
    """The definitions module, imported with this test's workspace as the environment (as `dagster dev` would)."""
    _, url = log_api
    workspace = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=SANDBOX_FERNET_KEY, LOCK_WAIT_SECONDS="0")
    for name, value in workspace.environment.items():
        monkeypatch.setenv(name, value)
    from orchestration import dagster_definitions

    return workspace, dagster_definitions


def test_dagster_materializes_every_asset_once_in_process(definitions):
    workspace, module = definitions
    every_asset = {key.to_user_string() for key in module.defs.resolve_asset_graph().get_all_asset_keys()}

    result = dg.materialize(module.ASSETS, resources=module.defs.resources, instance=dg.DagsterInstance.ephemeral())

    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert materialized == every_asset
    assert {"log_api/logs", "orders_db/orders", "logs", "orders", "exports/export_logs_manifest"} <= every_asset
    assert workspace.query("select count(*) from logs") == [(100,)]
    assert workspace.query("select count(*) from orders")[0][0] > 0
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    [schedule] = module.defs.schedules
    assert schedule.cron_schedule == "0 * * * *" and schedule.job.name == "elt"


def test_a_dagster_run_waits_for_the_same_lock_as_every_other_run(definitions):
    workspace, module = definitions
    ingest_orders = next(asset for asset in module.ASSETS if asset.op.name == "ingest_orders")

    holder = subprocess.Popen(  # another process: a lock is never in conflict with its own holder's children
        [sys.executable, "-c", HOLD_THE_LOCK, str(workspace.settings.warehouse_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = dg.materialize([ingest_orders], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    finally:
        holder.kill()
        holder.wait()

    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert "make schedule" in str(failure.event_specific_data.error)
    assert not workspace.settings.warehouse_path.exists() or workspace.query(
        "select count(*) from information_schema.tables where table_name = 'orders'"
    ) == [(0,)]


def test_the_manifest_dagster_reads_is_parsed_again_once_a_project_file_is_newer(tmp_path):
    """A model added since the last parse (a `git pull`) made every materialization fail with a KeyError."""
    from orchestration.dagster_definitions import DBT_SOURCES, _manifest_is_stale

    manifest = tmp_path / "manifest.json"
    assert _manifest_is_stale(manifest)
    manifest.write_text("{}")
    files = [path for name in DBT_SOURCES for path in (REPO_ROOT / name).rglob("*") if path.is_file()]
    newest = max(path.stat().st_mtime for path in files)
    os.utime(manifest, (newest + 1, newest + 1))
    assert not _manifest_is_stale(manifest)
    os.utime(manifest, (newest - 1, newest - 1))
    assert _manifest_is_stale(manifest)
