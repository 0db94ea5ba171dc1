"""`python -m ingestion run`: extract each source once per destination and load it, unchanged."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

from ingestion.destinations import targets
from ingestion.errors import WAITS
from ingestion.loaders import Loader, logs_loader, orders_loader
from ingestion.loading import continue_load_ids, extract_then_load, pipeline_for, takes_this_run
from ingestion.report import Report, save_last_runs, source_run
from runtime.run_lock import die_with_parent
from settings import Settings, redact
from settings.sources import SOURCES as REGISTRY

SOURCES = tuple(REGISTRY)
__all__ = ["SOURCES", "Report", "run", "save_last_runs"]


def run(settings: Settings, sources: tuple[str, ...] = SOURCES, full_refresh: bool = False) -> Report:
    """Loads `sources` into every destination; one failing pair does not stop the others."""
    report = Report()
    destinations = targets(settings)
    report.where = {target.name: target.where for target in destinations}
    pipelines = {target.name: pipeline_for(settings, target) for target in destinations}
    ready = []
    for target in destinations:
        takes, outcome = takes_this_run(settings, pipelines[target.name], target)
        report.add(outcome)
        ready += [target] if takes else []
    report.warnings += continue_load_ids([pipelines[target.name] for target in ready])
    loaders: dict[str, Callable[[ExitStack], Loader]] = {
        "logs": lambda stack: logs_loader(settings, stack, pipelines),
        "orders": lambda stack: orders_loader(settings, stack, full_refresh),
    }
    if "logs" in sources and settings.log_api_url and not (settings.fernet_key or "").replace(",", "").strip():
        report.warnings.append(
            "FERNET_KEY is not set: the log records land encrypted, as always, but dbt's logs model cannot decrypt "
            "them; set it to the key the log API encrypts with (several comma-separated, newest first)"
        )
    for name in sources:
        started_at, started, errors_before = datetime.now(UTC), time.monotonic(), len(report.errors)
        with ExitStack() as stack:
            if name == "orders":
                stack.enter_context(_read_deadline(settings, report, started_at, started))
            try:
                loader = loaders[name](stack)
            except RuntimeError as error:
                report.errors.append(str(error))
            else:
                refresh = "drop_resources" if full_refresh and name == "orders" else None
                if refresh:
                    report.refreshed.add(name)
                if loader.table:
                    report.tables[name] = loader.table
                loaded = extract_then_load(pipelines, ready, name, loader.make_source, refresh)
                report.add(loaded)
                if loader.after_load:
                    report.warnings += loader.after_load(pipelines, loaded.rows)
        report.runs[name] = source_run(started_at, started, report.errors[errors_before:])
    return report


@contextmanager
def _read_deadline(settings: Settings, report: Report, started_at: datetime, started: float) -> Iterator[None]:
    """Ends the run, with one `error:` line and the run recorded, when reading and loading orders takes
    longer than ORDERS_READ_DEADLINE_SECONDS. A stalled server is waited on in native code (connectorx
    holds the GIL while it reads), so the watch is a forked process of its own, which kills this one:
    a run stopped at any point is completed by the next one, and nothing is lost.
    """
    seconds, run = settings.orders_read_deadline_seconds, os.getpid()
    watcher = os.fork()
    if watcher == 0:
        die_with_parent(signal.SIGKILL)  # never outlives the run, nor holds its lock after it
        if os.getppid() != run:  # the run died before the request: the signal will never come
            os._exit(0)
        time.sleep(seconds)
        error = (
            f"orders: reading and loading took longer than {seconds} s (ORDERS_READ_DEADLINE_SECONDS), so the run "
            f"stops; {WAITS}. Check the orders database at {redact(settings.orders_db_url or 'the sandbox')}, "
            "or raise ORDERS_READ_DEADLINE_SECONDS"
        )
        report.errors.append(error)
        report.runs["orders"] = source_run(started_at, started, [error])
        try:
            save_last_runs(settings, report)
        finally:
            print(f"\nerror: {error}", file=sys.stderr, flush=True)
            os.kill(run, signal.SIGKILL)
            os._exit(1)
    try:
        yield
    finally:
        os.kill(watcher, signal.SIGKILL)
        os.waitpid(watcher, 0)
