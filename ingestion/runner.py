"""`python -m ingestion run`: extract each source once per destination and load it, unchanged."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dlt
import dlt.common.time as dlt_time
import sqlalchemy as sa
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema.exceptions import DataValidationError
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.load.exceptions import LoadClientJobFailed
from dlt.sources import DltSource

from ingestion import log_api_client, waiting_polls
from ingestion.destinations import DATASET, DestinationError, Target, check_lake, targets, working_folder
from ingestion.log_api import log_api
from ingestion.orders_binlog import BinlogError, check_server, orders_binlog
from ingestion.orders_db import (
    CURSOR,
    FUTURE_TOLERANCE,
    MYSQL_DIALECTS,
    MYSQL_UTC_SESSION,
    hold_cursor_at_clock,
    loaded_source,
    orders_db,
    rows_missing_by_day,
    source_clock,
    source_identity,
)
from ingestion.progress import dlt_progress
from sandbox import log_api as log_api_sandbox
from sandbox import orders_db as orders_sandbox
from settings import Settings, redact
from settings.run_lock import die_with_parent

SOURCES = ("logs", "orders")
# A clock behind the newest load by more than this is worth a warning (NTP corrects small drifts quietly).
CLOCK_WARNING_SECONDS = 60
WAITS = "nothing is lost: its log polls wait on disk and its orders are read again, for the next run"
# The last run of each source (when, how long, rows per destination, errors), for `status`.
LAST_RUNS = "last_runs.json"
# A source, ready to read: a dlt source for each destination's pipeline, and a check to run after loading.
Loader = tuple[Callable[[dlt.Pipeline], DltSource], Callable[[dict[str, dlt.Pipeline], "Report"], None] | None]


class SourceError(RuntimeError):
    """A source cannot be read; the message says which setting to check."""


@dataclass
class Report:
    """Rows loaded per (source, destination) and the errors met, for the closing summary."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    completed_earlier: set[str] = field(default_factory=set)
    # The raw table of each source, where it is not named after the source (orders in binlog mode).
    tables: dict[str, str] = field(default_factory=dict)
    # Per source: when its run started, how long it took, and the errors it met.
    runs: dict[str, dict] = field(default_factory=dict)
    # The sources reloaded whole (`--full-refresh`): their rows are not new.
    refreshed: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        """Rows per source and destination, warnings and errors, for another program."""
        rows: dict[str, dict[str, int]] = {}
        for (source, destination), count in self.rows.items():
            rows.setdefault(source, {})[destination] = count
        return {"rows": rows, "warnings": self.warnings, "errors": self.errors}

    def source_runs(self) -> dict[str, dict]:
        """Each source's run as `status` shows it: started_at, seconds, rows and rejected per destination, errors."""
        return {
            source: {
                **run,
                "rows": {destination: rows for (name, destination), rows in self.rows.items() if name == source},
                "rejected": {
                    destination: rows for (name, destination), rows in self.rejected.items() if name == source
                },
            }
            for source, run in self.runs.items()
        }

    def summary(self) -> str:
        lines = [""]
        if self.rows:
            refreshed = "".join(f"; {source}: the whole table, --full-refresh" for source in sorted(self.refreshed))
            lines.append(f"Loaded (new rows{refreshed}):")
        for (source, destination), rows in self.rows.items():
            lines.append(
                f"  {source:<7} -> {destination:<9} {rows:>8,} rows   "
                + self.where[destination].format(table=self.tables.get(source, source))
            )
        lines += [
            f"  {source:<7} -> {destination:<9} {rows:>8,} malformed records kept in "
            + self.where[destination].format(table=f"{source}_rejected")
            for (source, destination), rows in self.rejected.items()
            if rows
        ]
        lines += [
            f"  (+ rows of an unfinished earlier run, now loaded into the {name})" for name in self.completed_earlier
        ]
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [f"error: {error}" for error in _each_once(self.errors)]
        return "\n".join(lines)


def _each_once(errors: list[str]) -> list[str]:
    """The errors, those that differ only in their destination said once: `orders -> warehouse, lake: …`."""
    destinations: dict[tuple[str, str], list[str]] = {}
    for error in errors:
        source, arrow, rest = error.partition(" -> ")
        destination, colon, message = rest.partition(": ")
        if not (arrow and colon) or " " in source or " " in destination:
            source, destination, message = "", "", error
        destinations.setdefault((source, message), []).append(destination)
    return [
        f"{source} -> {', '.join(names)}: {message}" if source else message
        for (source, message), names in destinations.items()
    ]


def run(settings: Settings, sources: tuple[str, ...] = SOURCES, full_refresh: bool = False) -> Report:
    """Loads `sources` into every destination; one failing pair does not stop the others."""
    report = Report()
    destinations = targets(settings)
    report.where = {target.name: target.where for target in destinations}
    pipelines = {target.name: pipeline_for(settings, target) for target in destinations}
    ready = [target for target in destinations if _ready(settings, pipelines[target.name], target, report)]
    _continue_load_ids([pipelines[target.name] for target in ready], report)
    loaders: dict[str, Callable[[ExitStack], Loader]] = {
        "logs": lambda stack: _logs_source(settings, stack, pipelines),
        "orders": lambda stack: _orders_source(settings, stack, full_refresh, report),
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
                make_source, after_load = loaders[name](stack)
            except RuntimeError as error:
                report.errors.append(str(error))
            else:
                refresh = "drop_resources" if full_refresh and name == "orders" else None
                if refresh:
                    report.refreshed.add(name)
                _extract_then_load(pipelines, ready, name, make_source, refresh, report)
                if after_load:
                    after_load(pipelines, report)
        report.runs[name] = _source_run(started_at, started, report.errors[errors_before:])
    return report


@contextmanager
def _read_deadline(settings: Settings, report: Report, started_at: datetime, started: float) -> Iterator[None]:
    """Ends the run, with one `error:` line and the run recorded, when reading and loading orders takes
    longer than ORDERS_READ_DEADLINE_SECONDS. A stalled server is waited on in native code (connectorx
    holds the GIL while it reads), so the watch is a forked process of its own, which kills this one:
    a run stopped at any point is completed by the next one, and nothing is lost.
    """
    seconds = settings.orders_read_deadline_seconds
    watcher = os.fork()
    if watcher == 0:
        die_with_parent(signal.SIGKILL)  # never outlives the run, nor holds its lock after it
        time.sleep(seconds)
        error = (
            f"orders: reading and loading took longer than {seconds} s (ORDERS_READ_DEADLINE_SECONDS), so the run "
            f"stops; {WAITS}. Check the orders database at {redact(settings.orders_db_url or 'the sandbox')}, "
            "or raise ORDERS_READ_DEADLINE_SECONDS"
        )
        report.errors.append(error)
        report.runs["orders"] = _source_run(started_at, started, [error])
        try:
            save_last_runs(settings, report)
        finally:
            print(f"\nerror: {error}", file=sys.stderr, flush=True)
            os.kill(os.getppid(), signal.SIGKILL)
            os._exit(1)
    try:
        yield
    finally:
        os.kill(watcher, signal.SIGKILL)
        os.waitpid(watcher, 0)


def _source_run(started_at: datetime, started: float, errors: list[str]) -> dict:
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "errors": errors,
    }


def save_last_runs(settings: Settings, report: Report) -> None:
    """Records each source's run in `<PIPELINES_DIR>/last_runs.json`, next to dlt's own state."""
    path = settings.pipelines_dir / LAST_RUNS
    runs = json.loads(path.read_text()) if path.exists() else {}
    runs.update(report.source_runs())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(runs, indent=2))
    partial.replace(path)


def _extract_then_load(
    pipelines: dict[str, dlt.Pipeline],
    destinations: list[Target],
    name: str,
    make_source: Callable[[dlt.Pipeline], DltSource],
    refresh: str | None,
    report: Report,
) -> None:
    """Extracts into every destination's pipeline first, then loads each.

    An extracted package is kept on disk until its destination has it, so a destination that
    fails now (or a run killed mid-way) gets the same rows on the next run, in order.
    """
    extracted = []
    for target in destinations:
        pipeline = pipelines[target.name]
        try:
            pipeline.extract(make_source(pipeline), refresh=refresh, loader_file_format=target.loader_file_format)
            extracted.append(target)
        except SourceError as error:
            report.errors.append(f"{name} -> {target.name}: {error}")
        except Exception as error:  # noqa: BLE001 (reported; the other destination still loads)
            if changed := _changed_type(error):
                report.errors.append(f"{name} -> {target.name}: {changed}")
                continue
            report.errors.append(f"{name} -> {target.name}: {_root_cause(error)}; {WAITS}")
        except BaseException as error:
            if not is_native_panic(error):
                raise
            report.errors.append(f"{name} -> {target.name}: the read failed ({_root_cause(error)}); {WAITS}")
    for target in extracted:
        pipeline = pipelines[target.name]
        _progress(f"{name} -> {target.name}: loading")
        if _normalize_and_load(pipeline, target, name, report):
            counts = pipeline.last_trace.last_normalize_info.row_counts
            # orders in binlog mode land in `orders_changes`
            report.rows[(name, target.name)] = counts.get(name, 0) + counts.get(f"{name}_changes", 0)
            report.rejected[(name, target.name)] = counts.get(f"{name}_rejected", 0)


def _ready(settings: Settings, pipeline: dlt.Pipeline, target: Target, report: Report) -> bool:
    """Whether `target` takes this run's data: it answers, and has loaded what earlier runs left.

    A destination that does not is left out of this run, so that one that is down costs seconds and
    stops nothing else: its copy of each log poll waits on disk (`waiting_polls`), and its orders are
    read again from where it stopped.
    """
    if target.name == "lake":
        try:
            check_lake(settings)
        except DestinationError as error:
            report.errors.append(f"lake: {error}; {WAITS}")
            return False
    folder = working_folder(settings, target)
    elsewhere = any(other != folder for other in settings.pipelines_dir.glob(f"{target.name}-*"))
    return _finish_earlier_loads(pipeline, target, report, elsewhere)


def _continue_load_ids(pipelines: list[dlt.Pipeline], report: Report) -> None:
    """Makes this run's load ids larger than every load id these pipelines have made, whatever the clock says.

    dlt names a package by the wall clock when it is extracted, and relies on those names growing: it
    loads packages in their order, and takes back the state of the largest when PIPELINES_DIR is gone.
    A clock stepped back (NTP, a resumed VM, another host) would write smaller names; they continue
    from the newest load instead, and the run warns.
    """
    newest = max((_newest_load_id(pipeline) for pipeline in pipelines), default=0.0)
    behind = newest - time.time()
    if behind <= 0:
        return
    dlt_time.increasing_precise_time._last = max(dlt_time.increasing_precise_time._last, newest)
    if behind > CLOCK_WARNING_SECONDS:
        report.warnings.append(
            f"this machine's clock is {behind:,.0f} s behind the newest load "
            f"({datetime.fromtimestamp(newest, UTC):%Y-%m-%d %H:%M:%S} UTC): this run's load ids continue after it, "
            "so nothing is loaded out of order; set the clock right (NTP)"
        )


def _newest_load_id(pipeline: dlt.Pipeline) -> float:
    """The largest load id among the pipeline's packages on disk and the loads its destination holds."""
    local = [
        *pipeline.list_extracted_load_packages(),
        *pipeline.list_normalized_load_packages(),
        *pipeline.list_completed_load_packages(),
    ]
    try:
        with pipeline.sql_client() as client:
            [(loaded,)] = client.execute_sql(
                f"select max(load_id) from {client.make_qualified_table_name(pipeline.default_schema.loads_table_name)}"
            )
    except Exception:  # noqa: BLE001 (nothing loaded there yet, or no schema: only the local packages count)
        loaded = None
    return max((float(load_id) for load_id in [*local, loaded] if load_id), default=0.0)


def _finish_earlier_loads(pipeline: dlt.Pipeline, target: Target, report: Report, elsewhere: bool = False) -> bool:
    """Loads the packages an earlier run left, then takes the destination's state if it is newer than ours.

    A run killed after writing a package but before saving its state leaves the newer state in the
    package only; once loaded, `sync_destination` brings it back, so the rows are not read twice.
    A new destination (no dataset yet) starts with a state of its own: dlt drops the local one. So
    does one recreated or emptied since it last loaded, even with a load pending for it (that load
    would recreate the dataset and hide that it is new). `elsewhere`: this machine has loaded into
    another location of this destination. False when the packages could not all be loaded.
    """
    if pipeline.has_pending_data and pipeline.list_completed_load_packages() and _emptied(pipeline):
        _progress(f"{target.name}: holds nothing now, though it was loaded before: its pending load is dropped")
        pipeline.abort_packages()
    if pipeline.has_pending_data:
        _progress(f"{target.name}: a load an earlier run left unfinished goes first")
        if not _normalize_and_load(pipeline, target, "an earlier run", report):
            return False
        report.completed_earlier.add(target.name)
    loaded_before = bool(pipeline.state.get("sources"))
    try:
        pipeline.sync_destination()
    except Exception as error:  # noqa: BLE001 (the destination may be down: this run's data waits on disk)
        _progress(f"{target.name}: its state could not be read back ({_root_cause(error)})")
        return True
    if (loaded_before or elsewhere) and not pipeline.state.get("sources"):
        where = (
            "there before (recreated or emptied?)"
            if loaded_before
            else "elsewhere before (WAREHOUSE_PATH or LAKE_URL changed?)"
        )
        report.notes.append(
            f"{target.name} at {target.where.format(table='…')} holds nothing loaded yet, though this machine has "
            f"loaded {where}: it starts a complete load of its own. "
            "Log records the API no longer serves cannot be fetched again: they stay where they were loaded"
        )
    return True


def _emptied(pipeline: dlt.Pipeline) -> bool:
    """Whether the destination holds no dataset at all (recreated or emptied); False when it cannot be asked."""
    try:
        with pipeline.destination_client() as client:
            return not client.is_storage_initialized()
    except Exception:  # noqa: BLE001 (down: its pending load waits, as for any other failure)
        return False


def _normalize_and_load(pipeline: dlt.Pipeline, target: Target, name: str, report: Report) -> bool:
    """Normalizes and loads every pending package; True when the destination has them all.

    A package whose data cannot be normalized, or that the destination refuses for good, is moved aside
    (it would fail the same way on every run). One that failed for a reason of this machine's (a full
    disk, a folder it may not write) or that the destination could not take now stays for the next run.
    """
    try:
        pipeline.normalize()
    except Exception as error:  # noqa: BLE001 (sorted: the machine's fault waits, the data's is moved aside)
        if _machine_fault(error):
            report.errors.append(f"{name} -> {target.name}: {_root_cause(error)} (kept; the next run loads it first)")
        else:
            _move_aside(pipeline, target, name, error, report)
        return False
    try:
        info = pipeline.load()
    except Exception as error:  # noqa: BLE001 (reported; the package stays on disk for the next run)
        if _refused_for_good(error):
            _move_aside(pipeline, target, name, error, report)
        else:
            report.errors.append(f"{name} -> {target.name}: {_root_cause(error)} (kept; the next run loads it first)")
        return False
    if target.retried_job_appends_again and info.loads_ids:
        _drop_rows_loaded_twice(pipeline, info.loads_ids)
    return True


def _drop_rows_loaded_twice(pipeline: dlt.Pipeline, load_ids: list[str]) -> None:
    """Keeps one row per `_dlt_id` among the rows of `load_ids`: a job re-run after a kill inserted its rows again.

    Only the packages just loaded can hold such rows, so only their rows are looked at.
    """
    loads = ", ".join(["%s"] * len(load_ids))
    tables = {table for schema in pipeline.schemas.values() for table in schema.data_table_names()}
    with pipeline.sql_client() as client:
        for table in sorted(tables):
            name = client.make_qualified_table_name(table)
            client.execute_sql(
                f"""
                delete from {name}
                where _dlt_load_id in ({loads})
                    and rowid not in (select min(rowid) from {name} where _dlt_load_id in ({loads}) group by _dlt_id)
                """,
                *load_ids,
                *load_ids,
            )


def _move_aside(pipeline: dlt.Pipeline, target: Target, name: str, error: Exception, report: Report) -> None:
    """Copies the pending packages out of dlt's way, under `<PIPELINES_DIR>/failed_packages/`, and aborts them."""
    kept = Path(pipeline.pipelines_dir) / "failed_packages" / pipeline.pipeline_name
    try:
        for load_id in [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]:
            for folder in Path(pipeline.working_dir).rglob(load_id):
                if folder.is_dir():
                    shutil.copytree(folder, kept / load_id, dirs_exist_ok=True)
    except OSError as copy_error:  # a full disk, say: the package stays where it is, for the next run
        why = copy_error.args[0][0][2] if isinstance(copy_error, shutil.Error) else copy_error.strerror
        report.errors.append(
            f"{name} -> {target.name}: {_root_cause(error)}; the package could not be moved aside to {kept} "
            f"({why}), so it is kept and the next run tries it again"
        )
        return
    pipeline.abort_packages()
    report.errors.append(
        f"{name} -> {target.name}: a load package failed for good ({_root_cause(error)}); it was moved aside to "
        f"{kept} and later runs go on without it: inspect it there, fix the cause, then delete the folder"
    )


def _changed_type(error: BaseException | None) -> str | None:
    """What to do when a source column's type changed under a raw table (the schema contract freezes types)."""
    while error is not None and not isinstance(error, DataValidationError):
        error = error.__cause__ or error.__context__
    if error is None or error.schema_entity != "data_type":
        return None
    existing = (error.table_schema or {}).get("columns", {}).get(error.column_name, {}).get("data_type", "another type")
    return (
        f"the source's column {error.column_name} changed type, and raw.{error.table_name} holds it as {existing}: "
        "both destinations refuse the new rows rather than hold two types (the cursor does not move). Change the "
        "column back, or reload the table with its new type: `python -m ingestion run --source orders --full-refresh`"
    )


def _machine_fault(error: BaseException | None) -> bool:
    """Whether the operating system refused (OSError: no space, no permission, an I/O error), not the data."""
    while error is not None:
        if isinstance(error, OSError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _refused_for_good(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, DestinationTerminalException | LoadClientJobFailed):
            return True
        error = error.__cause__ or error.__context__
    return False


def loaded_record_ids(pipeline: dlt.Pipeline, record_ids: list[str]) -> set[str]:
    """Which of `record_ids` the pipeline's destination holds in `logs` (none when it has no such table yet)."""
    schema = pipeline.schemas.get("log_api")
    if not record_ids or schema is None or "logs" not in schema.data_table_names():
        return set()
    placeholders = ", ".join(["%s"] * len(record_ids))
    try:
        with pipeline.sql_client(schema.name) as client:
            table = client.make_qualified_table_name("logs")
            rows = client.execute_sql(f"select record_id from {table} where record_id in ({placeholders})", *record_ids)
    except DatabaseUndefinedRelation:
        return set()
    return {record_id for (record_id,) in rows or []}


def pipeline_for(settings: Settings, target: Target) -> dlt.Pipeline:
    """The dlt pipeline that loads into `target` (its state and packages in the destination's own folder)."""
    folder = working_folder(settings, target)
    _move_from_shared_folder(settings.pipelines_dir, folder, f"elt_{target.name}")
    return dlt.pipeline(
        pipeline_name=f"elt_{target.name}",
        destination=target.destination,
        dataset_name=DATASET,
        pipelines_dir=str(folder),
        progress=dlt_progress(),
    )


def _move_from_shared_folder(pipelines_dir: Path, folder: Path, name: str) -> None:
    """Moves what an earlier version kept for every location at once (`<PIPELINES_DIR>/<name>`) into `folder`.

    That earlier layout belongs to the destination the settings named then, taken to be the current one.
    """
    shared = [pipelines_dir / name, pipelines_dir / "failed_packages" / name]
    if folder.exists() or not any(path.exists() for path in shared):
        return
    folder.mkdir(parents=True)
    for path in shared:
        if path.exists():
            (folder / path.relative_to(pipelines_dir)).parent.mkdir(parents=True, exist_ok=True)
            path.rename(folder / path.relative_to(pipelines_dir))


def _logs_source(settings: Settings, stack: ExitStack, pipelines: dict[str, dlt.Pipeline]) -> Loader:
    """Polls the API once and keeps the poll on disk for every destination, before any extracts it.

    Each destination then extracts every poll waiting for it (this one, and those of runs it missed),
    less the records it holds already.
    """
    url = settings.log_api_url or stack.enter_context(_embedded_log_api(settings))
    _progress(f"logs: polling {redact(url)}")
    try:
        poll = log_api_client.poll(
            url,
            timeout=settings.log_api_timeout_seconds,
            max_bytes=settings.log_api_max_bytes,
            deadline=settings.log_api_deadline_seconds,
        )
    except log_api_client.LogApiError as error:
        raise SourceError(str(error)) from error
    _progress(f"logs: {poll.served} records in this poll ({len(poll.rejected)} malformed)")
    folders = {pipeline.pipeline_name: waiting_polls.folder_of(pipeline) for pipeline in pipelines.values()}
    waiting_polls.keep(poll, folders.values())

    def make_source(pipeline: dlt.Pipeline) -> DltSource:
        polls = waiting_polls.waiting(folders[pipeline.pipeline_name], extracted_polls(pipeline))
        if len(polls) > 1:
            destination = pipeline.pipeline_name.removeprefix("elt_")
            _progress(f"logs -> {destination}: {len(polls) - 1} poll(s) of earlier runs waited for it")
        return log_api(polls, lambda record_ids: loaded_record_ids(pipeline, record_ids))

    def after_load(pipelines: dict[str, dlt.Pipeline], report: Report) -> None:
        # A copy goes once its destination has loaded it; until then a package holds it too, and if that
        # package is dropped (the destination was emptied) so is the state that lists it, and it is read again.
        for name, pipeline in pipelines.items():
            if ("logs", name) in report.rows:
                waiting_polls.forget(folders[pipeline.pipeline_name], extracted_polls(pipeline))

    return make_source, after_load


def _orders_source(settings: Settings, stack: ExitStack, full_refresh: bool, report: Report) -> Loader:
    url = settings.orders_db_url or _embedded_orders_db(settings)
    try:
        engine = orders_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        raise SourceError(
            f"ORDERS_DB_URL {redact(url)} is not a SQLAlchemy URL this project can open ({_first_line(error)}); "
            "set it like mysql+pymysql://user:password@host:3306/shop"
        ) from None
    stack.callback(engine.dispose)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(settings.orders_table):
                raise SourceError(
                    f"table {settings.orders_table!r} not found in the orders database at {redact(url)}; "
                    "set ORDERS_TABLE to the table to load"
                )
            if settings.orders_capture == "timestamp":
                _check_cursor_column(connection, settings.orders_table, url)
    except sa.exc.SQLAlchemyError as error:
        raise SourceError(
            f"cannot connect to the orders database at {redact(url)} ({_first_line(error)}); check ORDERS_DB_URL"
        ) from error
    if settings.orders_capture == "binlog":
        return _orders_binlog_source(settings, engine, url, report)
    _progress(f"orders: reading {settings.orders_table} at {redact(url)}")
    identity = source_identity(engine, settings.orders_table)
    clock, future_rows = source_clock(engine), {}

    def make_source(pipeline: dlt.Pipeline) -> DltSource:
        loaded = loaded_source(pipeline)
        if loaded not in (None, identity) and not full_refresh:
            raise SourceError(
                f"raw.orders holds orders loaded from {loaded}, and ORDERS_DB_URL / ORDERS_TABLE now name "
                f"{identity}: run `python -m ingestion run --source orders --full-refresh` to replace it "
                "with the new source, or set them back"
            )
        if not full_refresh:
            hold_cursor_at_clock(pipeline)
        return orders_db(
            engine, settings.orders_table, settings.orders_lookback_seconds, clock=clock, future_rows=future_rows
        )

    def after_load(pipelines: dict[str, dlt.Pipeline], report: Report) -> None:
        if future_rows:
            named = ", ".join(list(future_rows.values())[:5])
            report.warnings.append(
                f"orders: {len(future_rows)} row(s) have a LastUpdated more than {FUTURE_TOLERANCE.days} day after the "
                f"source database's clock ({clock:%Y-%m-%d %H:%M:%S}): {named}{' …' if len(future_rows) > 5 else ''}. "
                "They are loaded; the next runs read on from the newest row that is not in the future. "
                f"Check the clock of what writes {settings.orders_table}"
            )
        if ("orders", "warehouse") not in report.rows:
            return
        try:
            missing = rows_missing_by_day(engine, settings.orders_table, pipelines["warehouse"])
        except sa.exc.SQLAlchemyError as error:
            report.warnings.append(
                f"orders: loaded, but the check of the source's rows per day against the warehouse failed "
                f"({_first_line(error)}); the next run checks again"
            )
            return
        if missing:
            days = ", ".join(f"{day} ({rows})" for day, rows in list(missing.items())[:5])
            report.warnings.append(
                f"orders: {sum(missing.values())} source rows are not in the warehouse, on {len(missing)} day(s): "
                f"{days}{' …' if len(missing) > 5 else ''}. They were committed later than the look-back "
                f"({settings.orders_lookback_seconds} s) covers: run `python -m ingestion run --source orders "
                "--full-refresh`, or raise ORDERS_LOOKBACK_SECONDS"
            )

    return make_source, after_load


def _orders_binlog_source(settings: Settings, engine: sa.Engine, url: str, report: Report) -> Loader:
    """ORDERS_CAPTURE=binlog: the changes since the last run (a snapshot first), from the binary log."""
    if engine.dialect.name not in ("mysql", "mariadb"):
        raise SourceError(
            f"ORDERS_CAPTURE=binlog reads a MySQL or MariaDB binary log, and ORDERS_DB_URL {redact(url)} is "
            f"{engine.dialect.name}: set ORDERS_CAPTURE=timestamp, or point ORDERS_DB_URL at MySQL/MariaDB"
        )
    try:
        check_server(engine, settings.orders_table)
    except BinlogError as error:
        raise SourceError(str(error)) from None
    _progress(f"orders: reading the binary log of {settings.orders_table} at {redact(url)}")
    report.tables["orders"] = "orders_changes"
    return lambda pipeline: orders_binlog(engine, settings.orders_table), None


def extracted_polls(pipeline: dlt.Pipeline) -> list[str]:
    """The ids of the polls the pipeline's last logs extract took (`waiting_polls`)."""
    resources = pipeline.state.get("sources", {}).get("log_api", {}).get("resources", {})
    return resources.get("logs", {}).get("extracted_polls", [])


def orders_engine(url: str) -> sa.Engine:
    """An engine that gives up connecting after seconds, not minutes, and reads MySQL's times in UTC."""
    is_mysql = sa.make_url(url).get_backend_name() in MYSQL_DIALECTS
    connect_args = {"connect_timeout": 5, "init_command": MYSQL_UTC_SESSION} if is_mysql else {}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


@contextmanager
def _embedded_log_api(settings: Settings) -> Iterator[str]:
    sandbox = log_api_sandbox.LogApiSandbox(
        clock_file=settings.sandbox_dir / "log_api_clock.json",
        advance_per_poll=timedelta(minutes=1),
    )
    with log_api_sandbox.serving(sandbox) as url:
        _progress("logs: LOG_API_URL is not set, serving the sandbox log API for this run")
        yield url


def _embedded_orders_db(settings: Settings) -> str:
    """The sandbox shop: seeded on first use, moved on by one step on every later run."""
    settings.sandbox_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{settings.sandbox_dir / 'shop.sqlite'}"
    engine = sa.create_engine(url)
    try:
        if not orders_sandbox.seed(engine, settings.orders_table):
            orders_sandbox.advance(engine, settings.orders_table)
    finally:
        engine.dispose()
    _progress("orders: ORDERS_DB_URL is not set, using the sandbox SQLite shop (it advances on every run)")
    return url


def _check_cursor_column(connection: sa.Connection, table: str, url: str) -> None:
    """The timestamp mode reads new rows by `LastUpdated`: a table without it, or with it as another
    type, is named in one line before dlt meets it (as a KeyError, or a str without a time zone).
    """
    columns = {column["name"]: column["type"] for column in sa.inspect(connection).get_columns(table)}
    where = f"table {table} at {redact(url)}"
    if CURSOR not in columns:
        raise SourceError(
            f"{where} has no column {CURSOR} (its columns: {', '.join(columns)}); the timestamp mode "
            f"reads new rows by it: name it {CURSOR} again, or use ORDERS_CAPTURE=binlog"
        )
    kind = columns[CURSOR]
    if not isinstance(kind, sa.DateTime):
        raise SourceError(
            f"{where}: column {CURSOR} is {kind}, not a date and time; the timestamp mode reads new "
            "rows by it: make it a DATETIME or TIMESTAMP again, or use ORDERS_CAPTURE=binlog"
        )


def is_native_panic(error: BaseException) -> bool:
    """Whether `error` is a panic of a Rust reader (connectorx's `PanicException`, say, when the server
    drops the connection mid-read): pyo3 raises it as a BaseException, so `except Exception` misses it.
    """
    return type(error).__name__ == "PanicException"


def _root_cause(error: BaseException) -> str:
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__
    if isinstance(error, BinlogError):  # its message is the whole story
        return str(error)
    holder = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", str(error))
    if holder:
        return (
            f"the warehouse is open in another program ({holder[1]}, pid {holder[2]}): close it and run again "
            "(`make sql` reads a snapshot and never holds the warehouse)"
        )
    return f"{type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
