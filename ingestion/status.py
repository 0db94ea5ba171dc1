"""`make status` (`python -m ingestion status`): where each source stands, in each destination.

Per source: its last run (from `<PIPELINES_DIR>/last_runs.json`, which the loader writes, failures
included: dlt's own trace never sees a source that could not be read), rows and newest record per
destination, the last poll of the log API, the quarantine, and the verdict of the last
`dbt source freshness` (dbt's `target/sources.json`). Per destination: load packages still
pending (dlt's) and packages moved aside. It takes the run lock for a moment, so it never reads
a warehouse a run is writing; while a run holds it, it says so and shows what it can.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from ingestion import binlog_positions, orders_binlog, waiting_polls
from ingestion.destinations import targets, working_folder
from ingestion.loaders import extracted_polls, orders_engine
from ingestion.loading import pipeline_for
from ingestion.report import LAST_RUNS
from runtime.dbt_artifacts import checked_warehouse, duration, freshness_verdicts, read_json
from runtime.run_lock import RunLockBusyError, run_lock
from settings import Settings, redact
from settings.sources import ORDERS, SOURCES


def status(settings: Settings, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    runs = read_json(settings.pipelines_dir / LAST_RUNS) or {}
    freshness = freshness_verdicts(settings.warehouse_path)
    lines = [f"Status at {_time(now)}  (warehouse {settings.warehouse_path}, lake {redact(settings.lake_url)})"]
    try:
        with run_lock(settings.warehouse_path, "make status", 0):
            facts = _facts(settings)
    except RunLockBusyError as error:
        lines.append(f"  note: {error}; warehouse figures are left out")
        facts = {"packages": _packages(settings)}
    for source in SOURCES:
        lines.append("")
        lines += _source_lines(source, runs.get(source), facts, freshness.get(source), now)
    lines.append("")
    lines += _package_lines(facts["packages"], settings)
    if freshness:
        checked = next(iter(freshness.values()))["checked_at"]
        lines.append(f"freshness: as `dbt source freshness` found it at {_time(checked)} ({_ago(checked, now)})")
    elif (other := checked_warehouse()) is not None and other != settings.warehouse_path.resolve():
        lines.append(
            f"freshness: not checked for this warehouse (the last `dbt source freshness` here checked {other})"
        )
    else:
        lines.append("freshness: not checked yet (`dbt source freshness`; `make all` and `make schedule` run it)")
    folder = working_folder(settings, targets(settings)[0])
    lines.append(f"more: dlt pipeline --pipelines-dir {folder} elt_warehouse info (or trace)")
    return "\n".join(lines)


def _source_lines(source: str, run: dict | None, facts: dict, freshness: dict | None, now: datetime) -> list[str]:
    lines = [source]
    if run is None:
        lines.append("  last run     none yet: run `make ingest`")
    else:
        started = datetime.fromisoformat(run["started_at"])
        outcome = "ok" if not run["errors"] else "FAILED"
        rows = ", ".join(f"{destination} +{count:,}" for destination, count in run["rows"].items()) or "no rows"
        lines.append(f"  last run     {_time(started)} ({_ago(started, now)}), {outcome} in {run['seconds']} s: {rows}")
        lines += [f"               error: {error}" for error in run["errors"]]
    for destination, tables in facts.get("tables", {}).items():
        table = tables.get(source)
        if table is None:
            lines.append(f"  {destination:<12} nothing loaded yet")
        elif isinstance(table, str):
            lines.append(f"  {destination:<12} {table}")
        else:
            rows, newest = table
            shown = newest.strftime("%Y-%m-%d %H:%M:%S") if newest else "none"
            lines.append(f"  {destination:<12} {rows:,} rows; newest record {shown}")
    if source == "logs" and "poll" in facts:
        lines.append(f"  last poll    {facts['poll']}")
    if source == "logs" and "quarantine" in facts:
        lines.append(f"  quarantine   {facts['quarantine']}")
    if source == "orders" and "capture" in facts:
        lines += [f"  {'capture' if number == 0 else '':<12} {text}" for number, text in enumerate(facts["capture"])]
    if freshness is not None:
        lines.append(f"  freshness    {freshness['verdict']}")
    return lines


def _facts(settings: Settings) -> dict:
    facts: dict = {"packages": _packages(settings), "tables": {}}
    newest = {name: source.newest_record(settings.orders_capture) for name, source in SOURCES.items()}
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
            facts["tables"]["warehouse"] = {
                source: _newest(lambda sql: warehouse.execute(sql).fetchall(), f"raw.{table}", column)
                for source, (table, column) in newest.items()
            }
            facts.update(_log_facts(warehouse))
    if settings.orders_capture == "binlog" and settings.orders_db_url:
        facts["capture"] = _capture_lag(settings)
    lake = pipeline_for(settings, targets(settings)[1])
    facts["tables"]["lake"] = {}
    for source, (table, column) in newest.items():
        schema = SOURCES[source].dlt_name
        if schema not in lake.schemas or table not in lake.schemas[schema].data_table_names():
            facts["tables"]["lake"][source] = None
            continue
        try:
            with lake.sql_client(schema) as client:
                facts["tables"]["lake"][source] = _newest(client.execute_sql, table, column)
        except Exception as error:  # noqa: BLE001 (status shows what it can; the lake may be unreachable)
            facts["tables"]["lake"][source] = f"not readable now ({type(error).__name__}: {str(error)[:200]})"
    return facts


def _capture_lag(settings: Settings) -> list[str]:
    """ORDERS_CAPTURE=binlog: how far each destination's capture is behind the end of the server's log."""
    positions = {}
    for target in targets(settings):
        resources = pipeline_for(settings, target).state.get("sources", {}).get(ORDERS.dlt_name, {}).get("resources")
        state = (resources or {}).get(orders_binlog.RESOURCE, {})
        positions[target.name] = state.get("position"), state.get("captured_until")
    engine = orders_engine(settings.orders_db_url)
    try:
        files, expire = binlog_positions.log_files(engine)
    except Exception as error:  # noqa: BLE001 (status shows what it can; the server may be down)
        return [f"cannot ask the server now ({type(error).__name__}: {str(error).splitlines()[0][:200]})"]
    finally:
        engine.dispose()
    end = f"{files[-1][0]}:{files[-1][1]}" if files else "nowhere (no binary log)"
    lines = []
    for destination, (position, captured_until) in positions.items():
        if position is None:
            lines.append(f"{destination} nothing captured yet (the log ends at {end})")
            continue
        behind = binlog_positions.bytes_behind(files, position)
        at = f"at {position['file']}:{position['pos']}"
        if behind is None:
            lines.append(f"{destination} PURGED: {at} is no longer on the server; run --full-refresh (a new snapshot)")
            continue
        since = ""
        if behind and captured_until:
            until = datetime.fromisoformat(captured_until)
            since = f"; its changes since {_time(until)} ({_ago(until, datetime.now(UTC))}) are not captured yet"
        lines.append(f"{destination} {behind:,} bytes behind, {at} (the log ends at {end}){since}")
        if expire and len(files) > 1 and position["file"] == files[0][0]:
            lines.append(
                f"warning: {destination}'s position is in the oldest log the server keeps, which it purges after "
                f"binlog_expire_logs_seconds ({expire:,} s): capture more often than that, or it needs a new snapshot"
            )
    return lines


def _newest(execute: Callable[[str], list], table: str, column: str) -> tuple[int, datetime | None] | None:
    try:
        [(rows, newest)] = execute(f"select count(*), max({column}) from {table}")
    except (duckdb.CatalogException, DatabaseUndefinedRelation):
        return None
    return rows, newest


def _log_facts(warehouse: duckdb.DuckDBPyConnection) -> dict:
    facts = {}
    try:
        polled_at, served, new, known, rejected, overlaps = warehouse.execute(
            """
            select polled_at, served, new, known, rejected, overlaps_previous
            from raw.log_api_polls order by polled_at desc limit 1
            """
        ).fetchone()
    except (duckdb.CatalogException, TypeError):
        pass
    else:
        overlap = {
            True: "it overlaps the poll before: no gap",
            False: "GAP: it does not reach back to the poll before; records in between may be missing",
            None: "the first poll",
        }[overlaps]
        facts["poll"] = (
            f"{_time(polled_at)}: {served} served, {new} new, {known} known, {rejected} malformed; {overlap}"
        )
    try:
        quarantined, decrypted = warehouse.execute(
            "select (select count(*) from logs_quarantine), (select count(*) from logs)"
        ).fetchone()
    except duckdb.CatalogException:
        facts["quarantine"] = "not built yet (`dbt run`)"
    else:
        share = quarantined / (quarantined + decrypted) if quarantined + decrypted else 0
        facts["quarantine"] = f"{quarantined:,} records in logs_quarantine ({share:.1%} of the records dbt has read)"
    return facts


def _packages(settings: Settings) -> dict[str, tuple[int, list[Path], int]]:
    """Per destination: packages extracted but not loaded yet, packages moved aside for good, and log polls
    kept for it that it has not extracted yet (it was down).
    """
    packages = {}
    for target in targets(settings):
        pipeline = pipeline_for(settings, target)
        pending = len(pipeline.list_extracted_load_packages()) + len(pipeline.list_normalized_load_packages())
        aside = Path(pipeline.pipelines_dir) / "failed_packages" / pipeline.pipeline_name
        polls = waiting_polls.waiting_ids(waiting_polls.folder_of(pipeline), extracted_polls(pipeline))
        packages[target.name] = (pending, sorted(aside.iterdir()) if aside.is_dir() else [], len(polls))
    return packages


def _package_lines(packages: dict[str, tuple[int, list[Path], int]], settings: Settings) -> list[str]:
    lines = []
    for destination, (pending, aside, polls) in packages.items():
        waiting = f"{pending} load package(s) pending: the next run loads them first" if pending else "none pending"
        moved = f"; {len(aside)} moved aside to {aside[0].parent} (see docs/operations.md)" if aside else ""
        kept = f"; {polls} log poll(s) kept for it: the next run that reaches it loads them" if polls else ""
        lines.append(f"packages: {destination:<9} {waiting}{moved}{kept}")
    return lines


def _ago(when: datetime, now: datetime) -> str:
    return duration(max(0.0, (now - when).total_seconds())) + " ago"


def _time(when: datetime) -> str:
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
