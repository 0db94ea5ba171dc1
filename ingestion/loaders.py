"""Each source made ready for a run: the dlt source to extract into each destination's pipeline, and
the checks to run once it is loaded (the log poll kept for every destination; the orders' future rows and
rows per day). Orders are read once for every destination that starts from the same place (`read_once`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import dlt
import sqlalchemy as sa
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.sources import DltSource

from ingestion import log_api_client, waiting_polls
from ingestion.errors import SourceError, first_line
from ingestion.log_api import log_api
from ingestion.orders_binlog import RESOURCE as CHANGES
from ingestion.orders_binlog import BinlogError, check_server, orders_binlog
from ingestion.orders_db import (
    CONTRACT,
    CURSOR,
    FUTURE_TOLERANCE,
    MYSQL_DIALECTS,
    MYSQL_UTC_SESSION,
    RESOURCE,
    hold_cursor_at_clock,
    loaded_source,
    orders_db,
    rows_missing_by_day,
    source_clock,
    source_identity,
)
from ingestion.progress import say
from ingestion.read_once import ReadOnce
from settings import Settings, redact
from settings.sources import LOGS, ORDERS

# Under PIPELINES_DIR: what each run read, for its next destination (`read_once`), in a folder named by its pid.
READS = "orders_reads"

# What a source loaded: rows per (source, destination).
Loaded = dict[tuple[str, str], int]


class Loader(NamedTuple):
    """A source, ready to read: a dlt source for each destination's pipeline (given the pipelines extracted
    before it in this run), a check to run once it is loaded (given what was loaded; it returns its warnings),
    and its raw table where that is not its name."""

    make_source: Callable[[dlt.Pipeline, list[dlt.Pipeline]], DltSource]
    after_load: Callable[[dict[str, dlt.Pipeline], Loaded], list[str]] | None = None
    table: str | None = None


def logs_loader(settings: Settings, stack: ExitStack, pipelines: dict[str, dlt.Pipeline]) -> Loader:
    """Polls the API once and keeps the poll on disk for every destination, before any extracts it.

    Each destination then extracts every poll waiting for it (this one, and those of runs it missed),
    less the records it holds already.
    """
    url = settings.log_api_url
    if not url:
        raise SourceError("LOG_API_URL is not set: set it to the log API's endpoint")
    say(f"logs: polling {redact(url)}")
    try:
        poll = log_api_client.poll(
            url,
            timeout=settings.log_api_timeout_seconds,
            max_bytes=settings.log_api_max_bytes,
            deadline=settings.log_api_deadline_seconds,
        )
    except log_api_client.LogApiError as error:
        raise SourceError(str(error)) from error
    say(f"logs: {poll.served} records in this poll ({len(poll.rejected)} malformed)")
    folders = {pipeline.pipeline_name: waiting_polls.folder_of(pipeline) for pipeline in pipelines.values()}
    waiting_polls.keep(poll, folders.values())

    def make_source(pipeline: dlt.Pipeline, extracted: list[dlt.Pipeline]) -> DltSource:
        polls = waiting_polls.waiting(folders[pipeline.pipeline_name], extracted_polls(pipeline))
        if len(polls) > 1:
            destination = pipeline.pipeline_name.removeprefix("elt_")
            say(f"logs -> {destination}: {len(polls) - 1} poll(s) of earlier runs waited for it")
        return log_api(polls, lambda record_ids: loaded_record_ids(pipeline, record_ids))

    def after_load(pipelines: dict[str, dlt.Pipeline], loaded: Loaded) -> list[str]:
        # A copy goes once its destination has loaded it; until then a package holds it too, and if that
        # package is dropped (the destination was emptied) so is the state that lists it, and it is read again.
        for name, pipeline in pipelines.items():
            if ("logs", name) in loaded:
                waiting_polls.forget(folders[pipeline.pipeline_name], extracted_polls(pipeline))
        return []

    return Loader(make_source, after_load)


def extracted_polls(pipeline: dlt.Pipeline) -> list[str]:
    """The ids of the polls the pipeline's last logs extract took (`waiting_polls`)."""
    resources = pipeline.state.get("sources", {}).get(LOGS.dlt_name, {}).get("resources", {})
    return resources.get("logs", {}).get("extracted_polls", [])


def loaded_record_ids(pipeline: dlt.Pipeline, record_ids: list[str]) -> set[str]:
    """Which of `record_ids` the pipeline's destination holds in `logs` (none when it has no such table yet)."""
    schema = pipeline.schemas.get(LOGS.dlt_name)
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


def orders_loader(settings: Settings, stack: ExitStack, full_refresh: bool) -> Loader:
    url = settings.orders_db_url
    if not url:
        raise SourceError("ORDERS_DB_URL is not set: set it to the orders database's SQLAlchemy URL")
    try:
        engine = orders_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        raise SourceError(
            f"ORDERS_DB_URL {redact(url)} is not a SQLAlchemy URL this project can open ({first_line(error)}); "
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
            f"cannot connect to the orders database at {redact(url)} ({first_line(error)}); check ORDERS_DB_URL"
        ) from error
    if settings.orders_capture == "binlog":
        return _orders_binlog_source(settings, engine, url, _read_folder(settings, stack))
    say(f"orders: reading {settings.orders_table} at {redact(url)}")
    identity = source_identity(engine, settings.orders_table)
    clock, future_rows = source_clock(engine), {}
    read_once = ReadOnce(_read_folder(settings, stack), ORDERS.dlt_name, RESOURCE, CONTRACT)

    def make_source(pipeline: dlt.Pipeline, extracted: list[dlt.Pipeline]) -> DltSource:
        loaded = loaded_source(pipeline)
        if loaded not in (None, identity) and not full_refresh:
            raise SourceError(
                f"raw.orders holds orders loaded from {loaded}, and ORDERS_DB_URL / ORDERS_TABLE now name "
                f"{identity}: run `python -m ingestion run --source orders --full-refresh` to replace it "
                "with the new source, or set them back"
            )
        if not full_refresh:
            hold_cursor_at_clock(pipeline)
        return read_once.source(
            pipeline,
            extracted,
            lambda: orders_db(
                engine, settings.orders_table, settings.orders_lookback_seconds, clock=clock, future_rows=future_rows
            ),
        )

    def after_load(pipelines: dict[str, dlt.Pipeline], loaded: Loaded) -> list[str]:
        warnings = []
        if future_rows:
            named = ", ".join(list(future_rows.values())[:5])
            warnings.append(
                f"orders: {len(future_rows)} row(s) have a LastUpdated more than {FUTURE_TOLERANCE.days} day after the "
                f"source database's clock ({clock:%Y-%m-%d %H:%M:%S}): {named}{' …' if len(future_rows) > 5 else ''}. "
                "They are loaded; the next runs read on from the newest row that is not in the future. "
                f"Check the clock of what writes {settings.orders_table}"
            )
        if ("orders", "warehouse") not in loaded:
            return warnings
        try:
            missing = rows_missing_by_day(engine, settings.orders_table, pipelines["warehouse"])
        except sa.exc.SQLAlchemyError as error:
            return [
                *warnings,
                f"orders: loaded, but the check of the source's rows per day against the warehouse failed "
                f"({first_line(error)}); the next run checks again",
            ]
        if missing:
            days = ", ".join(f"{day} ({rows})" for day, rows in list(missing.items())[:5])
            warnings.append(
                f"orders: {sum(missing.values())} source rows are not in the warehouse, on {len(missing)} day(s): "
                f"{days}{' …' if len(missing) > 5 else ''}. They were committed later than the look-back "
                f"({settings.orders_lookback_seconds} s) covers: run `python -m ingestion run --source orders "
                "--full-refresh`, or raise ORDERS_LOOKBACK_SECONDS"
            )
        return warnings

    return Loader(make_source, after_load)


def _orders_binlog_source(settings: Settings, engine: sa.Engine, url: str, folder: Path) -> Loader:
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
    say(f"orders: reading the binary log of {settings.orders_table} at {redact(url)}")
    read_once = ReadOnce(folder, ORDERS.dlt_name, CHANGES)

    def make_source(pipeline: dlt.Pipeline, extracted: list[dlt.Pipeline]) -> DltSource:
        return read_once.source(pipeline, extracted, lambda: orders_binlog(engine, settings.orders_table))

    return Loader(make_source, table=CHANGES)


def _read_folder(settings: Settings, stack: ExitStack) -> Path:
    """Where this run keeps what it read for the next destination: beside the pipelines (on their disk), removed
    after the run, and by the next run where a run killed mid-way left it."""
    reads = settings.pipelines_dir / READS
    for left in reads.glob("*"):
        if not left.name.isdigit() or not _running(int(left.name)):
            shutil.rmtree(left, ignore_errors=True)
    folder = reads / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def orders_engine(url: str) -> sa.Engine:
    """An engine that gives up connecting after seconds, not minutes, and reads MySQL's times in UTC."""
    is_mysql = sa.make_url(url).get_backend_name() in MYSQL_DIALECTS
    connect_args = {"connect_timeout": 5, "init_command": MYSQL_UTC_SESSION} if is_mysql else {}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


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
