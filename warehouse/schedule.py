"""`python -m warehouse schedule`: ingest + `dbt build` on a schedule, one run at a time, stopped cleanly.

Each run takes the run lock, so it never overlaps a run started by hand (it waits, or skips its
slot with a line). After downtime it runs once, not once per missed slot. The first Ctrl-C or
SIGTERM lets the current step finish and stops; a second one abandons the step, which is safe:
the next run completes it (nothing is lost or doubled).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runtime.dbt_artifacts import target_folder
from runtime.run_lock import RunLockBusyError, run_lock
from settings import REPO_ROOT, Settings

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The run log is moved to schedule.log.1 once it is this large.
LOG_BYTES = 10_000_000


def parse_every(text: str) -> timedelta:
    """`90`, `90s`, `3m`, `1h`, `1d` as a duration; raises `ValueError` for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"--every takes a positive duration like 90s, 3m, 1h or 1d, got {text!r}")
    return timedelta(seconds=int(match[1]) * UNITS[match[2] or "s"])


@dataclass(frozen=True)
class Schedule:
    """Run every `every`, or at the times of the cron expression `cron`."""

    every: timedelta | None = None
    cron: str | None = None

    def next_after(self, last_start: datetime | None, now: datetime) -> datetime:
        """The next slot: now for the first run; otherwise the first slot after both the last start and now,
        so slots missed while down (or while a long run went on) are skipped, not made up one by one.
        """
        if last_start is None:
            return now
        if self.cron is not None:
            from croniter import croniter

            return croniter(self.cron, max(last_start, now)).get_next(datetime)
        assert self.every is not None
        missed = max(0, int((now - last_start) / self.every))
        return last_start + self.every * (missed + 1)

    def interval(self, now: datetime) -> timedelta:
        """The time between runs; for a cron expression, the longest gap among its next slots."""
        if self.every is not None:
            return self.every
        from croniter import croniter

        slots = croniter(self.cron, now)
        times = [slots.get_next(datetime) for _ in range(25)]
        return max(later - earlier for earlier, later in itertools.pairwise(times))


def freshness_limits(interval: timedelta) -> dict[str, int]:
    """dbt vars for `dbt source freshness`: warn once two runs were missed, error after six (whole minutes)."""
    minutes = interval.total_seconds() / 60
    return {
        "freshness_warn_after_minutes": math.ceil(2 * minutes),
        "freshness_error_after_minutes": math.ceil(6 * minutes),
    }


@dataclass
class Stop:
    """Ctrl-C / SIGTERM: the first asks to stop after the current step, the second abandons it."""

    requests: int = 0
    current: subprocess.Popen | None = None
    step: str = ""
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def __call__(self, signal_number: int, frame: object) -> None:
        self.requests += 1
        if self.current is None:
            self.say("stopping: no step is running")
        elif self.requests == 1:
            self.say(f"stopping after the current step ({self.step}) finishes; Ctrl-C again to abandon it now")
        else:
            self.current.terminate()
            self.say(f"abandoning {self.step}: the next run completes it (nothing is lost or doubled)")


@dataclass
class RunOutcome:
    ok: bool = True
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    dbt: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    abandoned: str | None = None
    freshness: str | None = None


def schedule(settings: Settings, plan: Schedule, exit_on_failure: bool) -> int:
    stop = Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    what = f"every {plan.every}" if plan.every else f"at cron {plan.cron!r}"
    settings.prepare_warehouse_folder()
    log = run_log(settings)
    print(
        f"schedule: ingest + dbt build {what}, on {settings.warehouse_path}; each run's output in {log}; Ctrl-C stops",
        flush=True,
    )
    last_start: datetime | None = None
    last_length = timedelta(0)
    while not stop.requests:
        slot = plan.next_after(last_start, datetime.now(UTC))
        while not stop.requests and datetime.now(UTC) < slot:
            time.sleep(min(1.0, (slot - datetime.now(UTC)).total_seconds()))
        if stop.requests:
            break
        last_start = datetime.now(UTC)
        # runs start once the last has ended: when they take longer than the interval, they come that often
        outcome = run_once(settings, stop, max(plan.interval(last_start), last_length))
        last_length = datetime.now(UTC) - last_start
        print(run_line(last_start, outcome, log), flush=True)
        if exit_on_failure and not outcome.ok:
            return 1
    print("schedule: stopped", flush=True)
    return 0


def run_once(settings: Settings, stop: Stop, cadence: timedelta) -> RunOutcome:
    """One run: ingest, `dbt build`, then `dbt source freshness`, holding the run lock; each step a process
    of its own. Freshness limits follow the cadence: the interval, or the last run's length when longer.

    Both dbt steps get the limits as `--vars` (only the sources' freshness reads them): dbt parses the
    whole project again whenever its vars change, and so parses once per cadence, not twice per run.
    """
    outcome = RunOutcome()
    dbt = str(Path(sys.executable).parent / "dbt")
    limits = ["--vars", json.dumps(freshness_limits(cadence))]
    log = run_log(settings)
    if log.exists() and log.stat().st_size > LOG_BYTES:
        log.replace(log.with_name(log.name + ".1"))  # the previous runs' output, kept once

    try:
        with run_lock(settings.warehouse_path, "python -m warehouse schedule", settings.lock_wait_seconds):
            with tempfile.TemporaryDirectory(prefix="elt-run-") as folder:
                report = Path(folder) / "ingest.json"
                steps: tuple[tuple[str, Callable[[], list[str]]], ...] = (
                    ("ingest", lambda: [sys.executable, "-m", "ingestion", "run", "--report-json", str(report)]),
                    ("dbt build", lambda: [dbt, "build", *limits]),
                    ("freshness", lambda: [dbt, "source", "freshness", *limits]),
                )
                for step, command in steps:
                    if stop.requests:
                        break
                    code = _run_step(step, command(), stop, log)
                    if step == "ingest" and report.exists():
                        outcome.rows = json.loads(report.read_text())["rows"]
                    if step == "dbt build":
                        outcome.dbt = dbt_counts(target_folder() / "run_results.json")
                    if step == "freshness":
                        outcome.freshness = freshness_verdict(target_folder() / "sources.json")
                    if stop.requests > 1:
                        outcome.abandoned = step
                    if code != 0:
                        outcome.ok = False
                        outcome.failures.append(step)
    except RunLockBusyError as error:
        outcome.ok = False
        outcome.failures.append(f"skipped: {error}")
    return outcome


def run_log(settings: Settings) -> Path:
    """Where each scheduled run's steps write their output (beside the warehouse): the terminal gets one line."""
    return settings.warehouse_path.parent / "schedule.log"


def _run_step(step: str, command: list[str], stop: Stop, log: Path) -> int:
    with log.open("a") as output:
        output.write(f"== {datetime.now(UTC).isoformat(timespec='seconds')} {step}\n")
        output.flush()
        # A session of its own: Ctrl-C in the terminal reaches the scheduler only, which decides.
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
        )
        stop.current, stop.step = process, step
        try:
            return process.wait()
        finally:
            stop.current = None


def freshness_verdict(sources: Path) -> str | None:
    """The worst outcome of the last `dbt source freshness`: pass, warn, error or runtime error."""
    if not sources.exists():
        return None
    statuses = {result["status"] for result in json.loads(sources.read_text()).get("results", [])}
    return next((status for status in ("runtime error", "error", "warn", "pass") if status in statuses), None)


def dbt_counts(run_results: Path) -> dict[str, int]:
    """Nodes of the last dbt command by kind and outcome, e.g. {"model": 14, "test": 60, "failed": 0}."""
    if not run_results.exists():
        return {}
    counts: dict[str, int] = {"failed": 0}
    for result in json.loads(run_results.read_text()).get("results", []):
        kind = result["unique_id"].split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1
        if result["status"] in ("error", "fail", "runtime error"):
            counts["failed"] += 1
    return counts


def run_line(started: datetime, outcome: RunOutcome, log: Path) -> str:
    seconds = (datetime.now(UTC) - started).total_seconds()
    verdict = "ok" if outcome.ok else "FAILED (" + "; ".join(outcome.failures) + ")"
    rows = ", ".join(
        f"{source} " + " ".join(f"{destination} +{count:,}" for destination, count in destinations.items())
        for source, destinations in outcome.rows.items()
    )
    dbt = outcome.dbt
    built = (
        f"dbt: {dbt.get('model', 0)} models, {dbt.get('test', 0) + dbt.get('unit_test', 0)} tests, "
        f"{dbt.get('failed', 0)} failed"
        if dbt
        else "dbt: not run"
    )
    freshness = f"; freshness {outcome.freshness}" if outcome.freshness else ""
    abandoned = f"; abandoned {outcome.abandoned}" if outcome.abandoned else ""
    details = "" if outcome.ok else f"; its output is in {log}"
    return (
        f"{started.isoformat(timespec='seconds')} run {verdict} in {seconds:.1f} s: {rows or 'no rows'}; "
        f"{built}{freshness}{abandoned}{details}"
    )
