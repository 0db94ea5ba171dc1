"""`python -m ingestion run`: extract each source once per destination and load it, unchanged."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import dlt
import sqlalchemy as sa
from dlt.sources import DltSource

from ingestion import log_api_client
from ingestion.destinations import DATASET, Target, check_lake, targets
from ingestion.log_api import log_api
from ingestion.orders_db import orders_db
from sandbox import log_api as log_api_sandbox
from sandbox import orders_db as orders_sandbox
from settings import Settings, redact

SOURCES = ("logs", "orders")


class SourceError(RuntimeError):
    """A source cannot be read; the message says which setting to check."""


@dataclass
class Report:
    """Rows loaded per (source, destination) and the errors met, for the closing summary."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    completed_earlier: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = ["", "Loaded (new rows):"]
        for (source, destination), rows in self.rows.items():
            lines.append(
                f"  {source:<7} -> {destination:<9} {rows:>8,} rows   {self.where[destination].format(table=source)}"
            )
        lines += [
            f"  (+ rows of an unfinished earlier run, now loaded into the {name})" for name in self.completed_earlier
        ]
        lines += [f"error: {error}" for error in self.errors]
        return "\n".join(lines)


def run(settings: Settings, sources: tuple[str, ...] = SOURCES, full_refresh: bool = False) -> Report:
    """Loads `sources` into every destination; one failing pair does not stop the others."""
    report = Report()
    try:
        check_lake(settings)
    except RuntimeError as error:
        report.errors.append(str(error))
        return report
    destinations = targets(settings)
    report.where = {target.name: target.where for target in destinations}
    loaders: dict[str, Callable[[ExitStack], Callable[[], DltSource]]] = {
        "logs": lambda stack: _logs_source(settings, stack),
        "orders": lambda stack: _orders_source(settings, stack),
    }
    for name in sources:
        with ExitStack() as stack:
            try:
                make_source = loaders[name](stack)
            except RuntimeError as error:
                report.errors.append(str(error))
                continue
            refresh = "drop_resources" if full_refresh and name == "orders" else None
            _extract_then_load(settings, destinations, name, make_source, refresh, report)
    return report


def _extract_then_load(
    settings: Settings,
    destinations: list[Target],
    name: str,
    make_source: Callable[[], DltSource],
    refresh: str | None,
    report: Report,
) -> None:
    """Extracts into every destination's pipeline first, then loads each.

    An extracted package is kept on disk until its destination has it, so a destination that
    fails now (or a run killed mid-way) gets the same rows on the next run, in order.
    """
    pipelines: dict[str, dlt.Pipeline] = {}
    for target in destinations:
        pipeline = _pipeline(settings, target)
        if pipeline.has_pending_data:
            _progress(f"{name} -> {target.name}: a load an earlier run left unfinished goes first")
            report.completed_earlier.add(target.name)
        try:
            pipeline.extract(make_source(), refresh=refresh, loader_file_format=target.loader_file_format)
            pipelines[target.name] = pipeline
        except Exception as error:  # noqa: BLE001 (reported; the other destination still loads)
            report.errors.append(f"{name} -> {target.name}: {_root_cause(error)}")
    for target in destinations:
        if target.name not in pipelines:
            continue
        pipeline = pipelines[target.name]
        _progress(f"{name} -> {target.name}: loading")
        try:
            pipeline.normalize()
            pipeline.load()
        except Exception as error:  # noqa: BLE001 (reported; the package stays on disk for the next run)
            report.errors.append(f"{name} -> {target.name}: {_root_cause(error)} (kept; the next run loads it first)")
            continue
        counts = pipeline.last_trace.last_normalize_info.row_counts
        report.rows[(name, target.name)] = counts.get(name, 0)


def _pipeline(settings: Settings, target: Target) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"elt_{target.name}",
        destination=target.destination,
        dataset_name=DATASET,
        pipelines_dir=str(settings.pipelines_dir),
    )


def _logs_source(settings: Settings, stack: ExitStack) -> Callable[[], DltSource]:
    """Polls the API once; every destination gets that same poll."""
    url = settings.log_api_url or stack.enter_context(_embedded_log_api(settings))
    _progress(f"logs: polling {redact(url)}")
    try:
        records = log_api_client.poll(url, timeout=settings.log_api_timeout_seconds)
    except log_api_client.LogApiError as error:
        raise SourceError(str(error)) from error
    _progress(f"logs: {len(records)} records in this poll")
    return lambda: log_api(records)


def _orders_source(settings: Settings, stack: ExitStack) -> Callable[[], DltSource]:
    url = settings.orders_db_url or _embedded_orders_db(settings)
    engine = orders_engine(url)
    stack.callback(engine.dispose)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(settings.orders_table):
                raise SourceError(
                    f"table {settings.orders_table!r} not found in the orders database at {redact(url)}; "
                    "set ORDERS_TABLE to the table to load"
                )
    except sa.exc.SQLAlchemyError as error:
        raise SourceError(
            f"cannot connect to the orders database at {redact(url)} ({_first_line(error)}); check ORDERS_DB_URL"
        ) from error
    _progress(f"orders: reading {settings.orders_table} at {redact(url)}")
    return lambda: orders_db(engine, settings.orders_table, settings.orders_lookback_seconds)


def orders_engine(url: str) -> sa.Engine:
    """An engine that gives up connecting after seconds, not minutes."""
    connect_args = {"connect_timeout": 5} if url.startswith("mysql") else {}
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


def _root_cause(error: BaseException) -> str:
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__
    return f"{type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
