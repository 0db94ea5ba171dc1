"""The optional Dagster extra: the ingestion and every dbt model as assets, one run at a time."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile

import dagster as dg
import pytest

from sandbox.mariadb import free_port
from settings import REPO_ROOT, SANDBOX_FERNET_KEY
from tests.workspace import Workspace, as_a_user, checkout

# Importing the definitions runs `dbt parse` into the repository's target/dagster: one worker at a time.
pytestmark = pytest.mark.xdist_group("dagster")

HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from runtime.run_lock import run_lock
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


@pytest.mark.long
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
    manifest = json.loads(module.DBT_PROJECT.manifest_path.read_text())
    data_tests = [
        node for node in manifest["nodes"].values() if node["resource_type"] == "test" and node["config"]["enabled"]
    ]
    unchecked = sorted({node["name"] for node in data_tests} - {key.name for key in module.dbt_models.check_keys})
    assert unchecked == [], "every dbt data test, of a model or a source or singular, is a check"
    assert {check.asset_key.to_user_string() for check in checks} >= {"log_api/logs", "orders_db/orders", "logs"}
    assert all(check.passed for check in checks)
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
    files = [
        path for name in DBT_SOURCES for path in (REPO_ROOT / name, *(REPO_ROOT / name).rglob("*")) if path.is_file()
    ]
    newest = max(path.stat().st_mtime for path in files)
    os.utime(manifest, (newest + 1, newest + 1))
    assert not _manifest_is_stale(manifest)
    os.utime(manifest, (newest - 1, newest - 1))
    assert _manifest_is_stale(manifest)


@pytest.mark.clone
def test_the_package_builds_with_the_dagster_extra_and_its_webserver(tmp_path):
    """`pip install '.[dagster]'` stopped at setuptools' flat-layout refusal, and `dagster dev` lacked its webserver."""
    project = checkout(tmp_path / "project")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = tmp_path.glob("elt_warehouse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packages = {name.split("/")[0] for name in archive.namelist() if name.endswith(".py")}
        metadata = next(archive.read(name).decode() for name in archive.namelist() if name.endswith("/METADATA"))
    assert packages == {"ingestion", "orchestration", "runtime", "sandbox", "settings", "transforms", "warehouse"}
    assert 'Requires-Dist: dagster-webserver==1.13.27; extra == "dagster"' in metadata


@pytest.mark.clone
@pytest.mark.timeout(300)
def test_make_dagster_serves_the_ui_with_telemetry_off(tmp_path):
    project = checkout(tmp_path / "project")
    port = free_port()
    process = subprocess.Popen(
        ["make", "dagster", f"ARGS=-p {port}"],
        cwd=project,
        env=as_a_user(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        answer = None
        deadline = time.monotonic() + 240
        while answer is None and time.monotonic() < deadline and process.poll() is None:
            try:
                answer = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).read())
            except OSError:
                time.sleep(1)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)

    assert answer and answer["dagster_webserver_version"] == "1.13.27", output[-3000:]
    assert "telemetry" not in output.lower(), output[-3000:]
    assert "enabled: false" in (project / "data" / "dagster" / "dagster.yaml").read_text()
