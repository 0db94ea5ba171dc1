"""`python -m warehouse schedule`: runs on its slots, one line per run, and stops cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from settings import SANDBOX_FERNET_KEY
from tests.readers import LOG_COLUMNS, documentation, warehouse_rows
from tests.workspace import Workspace
from warehouse.schedule import Schedule, freshness_limits, parse_every

TEN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_after_downtime_the_schedule_runs_once_not_once_per_missed_slot():
    every_three = Schedule(every=timedelta(minutes=3))
    assert every_three.next_after(None, TEN) == TEN
    assert every_three.next_after(TEN, TEN + timedelta(minutes=1)) == TEN + timedelta(minutes=3)
    assert every_three.next_after(TEN, TEN + timedelta(minutes=31)) == TEN + timedelta(minutes=33)
    cron = Schedule(cron="*/5 * * * *")
    assert cron.next_after(TEN, TEN + timedelta(minutes=31)) == TEN + timedelta(minutes=35)
    assert [parse_every(text) for text in ("90", "90s", "3m", "1h")] == [
        timedelta(seconds=90),
        timedelta(seconds=90),
        timedelta(minutes=3),
        timedelta(hours=1),
    ]
    with pytest.raises(ValueError, match="--every takes"):
        parse_every("3 fortnights")


def test_freshness_limits_follow_the_schedule_two_missed_runs_warn_six_fail():
    hourly = Schedule(every=timedelta(hours=1)).interval(TEN)
    assert freshness_limits(hourly) == {"freshness_warn_after_minutes": 120, "freshness_error_after_minutes": 360}
    every_five = Schedule(cron="*/5 * * * *").interval(TEN)
    assert freshness_limits(every_five) == {"freshness_warn_after_minutes": 10, "freshness_error_after_minutes": 30}
    # Weekdays at nine: the weekend is the longest wait, so a quiet Monday morning does not warn.
    weekdays = Schedule(cron="0 9 * * 1-5").interval(TEN)
    assert weekdays == timedelta(days=3)
    assert freshness_limits(timedelta(seconds=20)) == {
        "freshness_warn_after_minutes": 1,
        "freshness_error_after_minutes": 2,
    }


@pytest.fixture
def scheduled(tmp_path, log_api):
    """A scheduler every second on the sandbox, whose log API answers only when the test lets it."""
    sandbox, url = log_api
    sandbox.misbehaviour.hold = threading.Event()
    workspace = Workspace(
        tmp_path,
        LOG_API_URL=url,
        FERNET_KEY=SANDBOX_FERNET_KEY,
        LOG_API_TIMEOUT_SECONDS="600",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "schedule", "--every", "1s"],
        cwd=tmp_path,
        env=workspace.environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # as a terminal's foreground job: Ctrl-C goes to the whole group
    )
    yield sandbox, workspace, process
    sandbox.misbehaviour.hold.set()
    if process.poll() is None:
        process.kill()
    process.wait()


def ctrl_c(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)


def wait_for_in_run_log(workspace: Workspace, text: str, timeout: float = 120) -> None:
    """Until the scheduled run's output (in schedule.log beside the warehouse) holds `text`."""
    log = workspace.settings.warehouse_path.parent / "schedule.log"
    deadline = time.monotonic() + timeout
    while not (log.exists() and text in log.read_text()):
        assert time.monotonic() < deadline, f"no {text!r} in {log} within {timeout} s"
        time.sleep(0.1)


def read_until(process: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if text in line:
            return lines
    raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(lines))


def test_ctrl_c_during_a_step_lets_it_finish_then_stops_without_a_traceback(scheduled):
    sandbox, workspace, process = scheduled
    wait_for_in_run_log(workspace, "logs: polling")  # the ingest step is in flight, held by the API
    ctrl_c(process)
    lines = read_until(process, "stopping after the current step (ingest) finishes")
    sandbox.misbehaviour.hold.set()
    rest, _ = process.communicate(timeout=300)

    assert process.returncode == 0
    output = "\n".join(lines) + rest
    assert "Traceback" not in output + (workspace.settings.warehouse_path.parent / "schedule.log").read_text()
    [run] = [line for line in output.splitlines() if " run " in line and " s: " in line]
    assert " run ok in " in run and "logs warehouse +100 lake +100" in run and "dbt: not run" in run
    assert output.rstrip().endswith("schedule: stopped")
    assert len(warehouse_rows(workspace.settings, "logs", LOG_COLUMNS)) == 100


def test_a_second_ctrl_c_abandons_the_step_safely(scheduled):
    sandbox, workspace, process = scheduled
    wait_for_in_run_log(workspace, "logs: polling")
    ctrl_c(process)
    read_until(process, "stopping after the current step (ingest)")
    ctrl_c(process)
    rest, _ = process.communicate(timeout=300)

    assert process.returncode == 0, rest
    assert "abandoning ingest: the next run completes it" in rest
    assert "abandoned ingest" in rest and "Traceback" not in rest
    sandbox.misbehaviour.hold.set()
    after = workspace.cli("ingestion", "run", "--source", "logs")
    assert after.returncode == 0, after.stderr
    assert len(warehouse_rows(workspace.settings, "logs", LOG_COLUMNS)) == 100


@pytest.mark.long
def test_runs_follow_the_schedule_one_line_each_until_sigterm(scheduled):
    sandbox, workspace, process = scheduled
    sandbox.misbehaviour.hold.set()
    lines = read_until(process, " run ")
    lines += read_until(process, " run ")
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=300)

    # The terminal shows the schedule, one line per run and the stop; the steps' output is in the log.
    log = workspace.settings.warehouse_path.parent / "schedule.log"
    banner, *runs = lines
    assert banner.startswith("schedule: ingest + dbt build every 0:00:01") and f"output in {log}" in banner
    assert rest.strip().splitlines()[-1] == "schedule: stopped"
    others = [line for line in rest.strip().splitlines() if " run " not in line and not line.startswith("stopping")]
    assert others == ["schedule: stopped"], rest
    assert "logs: polling" in log.read_text() and "Completed successfully" in log.read_text()
    # dbt parses the project again when its vars change: a run's freshness step must keep its build's
    freshness_steps = [
        step for step in log.read_text().split("\n== ")[1:] if step.split("\n")[0].endswith(" freshness")
    ]
    assert len(freshness_steps) == 2 and not any("Unable to do partial parsing" in step for step in freshness_steps)
    assert len(runs) == 2 and all(" run ok in " in line for line in runs), runs
    assert "logs warehouse +100 lake +100" in runs[0] and "failed" in runs[0] and "0 failed" in runs[0]
    assert " models, " in runs[0] and "dbt: not run" not in runs[0]
    [documented] = re.findall(r"^\S+ run ok in .*$", documentation(), re.MULTILINE)
    counts = re.compile(r"dbt: \d+ models, \d+ tests, 0 failed; freshness pass$")
    assert counts.search(runs[0]).group() == counts.search(documented).group(), "the README's sample line"
    assert runs[0].endswith("; freshness pass"), runs[0]
    assert rest.rstrip().endswith("schedule: stopped")
