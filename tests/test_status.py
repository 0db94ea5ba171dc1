"""`python -m ingestion status` (`make status`): what a user checks first when something looks wrong."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta

import pytest

from runtime.run_lock import run_lock
from settings import SANDBOX_FERNET_KEY
from tests.workspace import Workspace


@pytest.fixture
def workspace(tmp_path, log_api):
    sandbox, url = log_api
    workspace = Workspace(
        tmp_path, LOG_API_URL=url, FERNET_KEY=SANDBOX_FERNET_KEY, DBT_TARGET_PATH=str(tmp_path / "target")
    )
    return sandbox, workspace


def status(workspace: Workspace) -> dict[str, str]:
    """The status output in blocks: "head" (its first line and notes), "logs", "orders", and "" for the rest."""
    result = workspace.cli("ingestion", "status")
    assert result.returncode == 0, result.stderr
    blocks: dict[str, list[str]] = {}
    for number, line in enumerate(result.stdout.splitlines()):
        if number == 0:
            name = "head"
        elif line and not line.startswith(" "):
            name = line if line in ("logs", "orders") else ""
        blocks.setdefault(name, []).append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def line(block: str, label: str) -> str:
    [found] = [text.strip() for text in block.splitlines() if text.strip().startswith(label)]
    return found


def test_before_any_run_status_says_what_to_do(workspace):
    _, workspace = workspace
    shown = status(workspace)

    assert line(shown["logs"], "last run") == "last run     none yet: run `make ingest`"
    assert line(shown["orders"], "last run") == "last run     none yet: run `make ingest`"
    assert "freshness: not checked yet" in shown[""]


def test_after_a_run_status_shows_rows_newest_record_poll_quarantine_and_freshness(workspace, tmp_path):
    sandbox, workspace = workspace
    assert workspace.cli("ingestion", "run").returncode == 0
    workspace.dbt("build")
    workspace.dbt("source", "freshness")
    shown = status(workspace)

    newest_log = max(record["logtimestamp"] for record in sandbox.pages_sent[-1])
    newest_log = datetime.strptime(newest_log, "%Y%m%d%H%M%S").strftime("%Y-%m-%d %H:%M:%S")
    [(orders, newest_order)] = workspace.query("select count(*), max(last_updated) from raw.orders")
    logs = shown["logs"]
    assert ", ok in " in line(logs, "last run") and line(logs, "last run").endswith("warehouse +100, lake +100")
    assert line(logs, "warehouse") == f"warehouse    100 rows; newest record {newest_log}"
    assert line(logs, "lake") == f"lake         100 rows; newest record {newest_log}"
    assert "100 served, 100 new, 0 known, 0 malformed; the first poll" in line(logs, "last poll")
    assert line(logs, "quarantine").startswith("quarantine   0 records in logs_quarantine (0.0%")
    assert line(logs, "freshness").startswith("freshness    pass: newest load ")
    assert "(warn after 1 d, error after 7 d)" in line(logs, "freshness")
    newest_order = newest_order.strftime("%Y-%m-%d %H:%M:%S")
    assert line(shown["orders"], "warehouse") == f"warehouse    {orders:,} rows; newest record {newest_order}"
    assert line(shown["orders"], "freshness").startswith("freshness    pass")
    assert "packages: warehouse none pending" in shown[""] and "packages: lake      none pending" in shown[""]

    # Another warehouse, with the same checkout (and target folder): that check is not its verdict.
    other = Workspace(tmp_path / "other", **{**workspace.environment, "WAREHOUSE_PATH": str(tmp_path / "other.duckdb")})
    elsewhere = status(other)
    assert not [text for text in elsewhere["logs"].splitlines() if text.strip().startswith("freshness")]
    checked = workspace.settings.warehouse_path.resolve()
    assert (
        f"freshness: not checked for this warehouse (the last `dbt source freshness` here checked {checked})"
        in (elsewhere[""])
    )


@pytest.mark.long
def test_status_shows_a_failed_run_a_poll_gap_and_stale_sources(workspace):
    sandbox, workspace = workspace
    assert workspace.cli("ingestion", "run").returncode == 0
    sandbox.advance(timedelta(days=1))  # far more records than one poll serves: the next poll cannot overlap
    assert workspace.cli("ingestion", "run", "--source", "logs").returncode == 0
    sandbox.fail_next(*[502] * 20)
    assert workspace.cli("ingestion", "run", "--source", "logs").returncode == 1
    workspace.dbt("source", "freshness", "--vars", "{freshness_warn_after_minutes: 0}")
    shown = status(workspace)

    logs = shown["logs"]
    assert ", FAILED in " in line(logs, "last run")
    assert "error: " in line(logs, "error") and "502" in line(logs, "error")
    assert "GAP: it does not reach back to the poll before" in line(logs, "last poll")
    assert line(logs, "freshness").startswith("freshness    warn: newest load ")
    assert ", ok in " in line(shown["orders"], "last run")


def test_a_killed_run_shows_as_pending_packages_until_the_next_run_loads_them(workspace):
    _, workspace = workspace
    killed = workspace.cli("tests.faults", "during-load-into-warehouse", "--source", "logs")
    assert killed.returncode == -signal.SIGKILL
    shown = status(workspace)
    assert "packages: warehouse 1 load package(s) pending: the next run loads them first" in shown[""]

    assert workspace.cli("ingestion", "run", "--source", "logs").returncode == 0
    assert "packages: warehouse none pending" in status(workspace)[""]


def test_while_a_run_holds_the_warehouse_status_answers_at_once_with_what_it_can(workspace):
    _, workspace = workspace
    assert workspace.cli("ingestion", "run", "--source", "orders").returncode == 0
    with run_lock(workspace.settings.warehouse_path, "a long dbt build", 0):
        shown = status(workspace)

    assert "a long dbt build" in shown["head"] and "warehouse figures are left out" in shown["head"]
    assert ", ok in " in line(shown["orders"], "last run")
