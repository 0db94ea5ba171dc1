"""What `make bench` prints and writes: the table of runs, the goals met or not, and the machine's facts."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from bench.measure import Measurement
from settings import REPO_ROOT


def goal(group: str, what: str, value: float, comparison: str, target: float) -> dict:
    met = value >= target if comparison == ">=" else value <= target
    return {"id": group, "measure": what, "value": round(value, 3), "goal": f"{comparison} {target}", "met": met}


def figure(group: str, what: str, value: float) -> dict:
    """A figure the issue asks to report, with no target to meet."""
    return {"id": group, "measure": what, "value": round(value, 3), "goal": "-", "met": None}


def print_table(measurements: list[Measurement], goals: list[dict]) -> None:
    print(f"\n{'':<4}{'what ran':<60} {'min s':>8} {'median s':>9} {'peak MiB':>9}")
    for m in measurements:
        print(f"{m.group:<4}{m.label:<60} {m.min_seconds:>8.2f} {m.median_seconds:>9.2f} {max(m.peak_rss_mib):>9.0f}")
    print(f"\n{'':<4}{'goal':<60} {'value':>8} {'target':>9} {'met':>9}")
    for goal in goals:
        met = {True: "yes", False: "NO", None: "-"}[goal["met"]]
        print(f"{goal['id']:<4}{goal['measure']:<60} {goal['value']:>8.2f} {goal['goal']:>9} {met:>9}")


def facts() -> dict:
    packages = (
        "duckdb",
        "dlt",
        "dbt-core",
        "dbt-duckdb",
        "dbt-spark",
        "pyspark",
        "connectorx",
        "pyarrow",
        "cryptography",
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "commit": commit.stdout.strip() or "unknown",
        "versions": {name: metadata.version(name) for name in packages} | {"python": platform.python_version()},
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(memory / 2**30, 1), "platform": platform.platform()},
    }


def goals(measurements: list[Measurement], rows: int, updates: int, b8_rows: int, b6: dict) -> list[dict]:
    """Each goal of the performance issue (and each figure it asks for) from one run's measurements."""
    best = {(m.group, m.label): m.min_seconds for m in measurements}
    rss = {(m.group, m.label): max(m.peak_rss_mib) for m in measurements}

    def seconds(group: str, start: str) -> float:
        return next(value for (g, label), value in best.items() if g == group and label.startswith(start))

    project = seconds("B1", "project")
    full = project + seconds("B3", "dbt run, order models, full")
    unchanged = seconds("B3", "ingest, no change") + seconds("B3", "dbt run, order models, no change")
    changed = seconds("B3", "ingest, 1% new rows") + seconds("B3", "dbt run, order models, 1% new rows")
    startup = seconds("B3", "start-up: dbt") + seconds("B3", "start-up: importing")
    project_rss = max(
        value for (group, label), value in rss.items() if "project" in label or group == "B3" or "mode" in label
    )
    spark_startup = seconds("B8", "Spark start-up")

    def spark_rows_per_core_second(cores: int) -> float:
        return b8_rows / max(seconds("B8", f"Spark local[{cores}]") - spark_startup, 0.001) / cores

    return [
        goal("B1", "orders first load, speed vs DuckDB mysql_scanner", seconds("B1", "DuckDB") / project, ">=", 1.0),
        goal("B1", "orders first load, speed vs the book's script", seconds("B1", "the book") / project, ">=", 10.0),
        goal(
            "B2",
            "dbt run -s +logs, speed vs 1-core decrypt + parse loop",
            seconds("B2", "1-core loop: Fernet.decrypt +") / seconds("B2", "project"),
            ">=",
            1.5,
        ),
        goal(
            "B2",
            "stretch: speed vs 1-core decrypt-only loop",
            seconds("B2", "1-core loop: Fernet.decrypt") / seconds("B2", "project"),
            ">=",
            1.0,
        ),
        goal(
            "B3",
            "(1% run - no-change run) / (full - no-change)",
            (changed - unchanged) / (full - unchanged),
            "<=",
            0.05,
        ),
        goal("B3", "no-change run beyond start-up, seconds", unchanged - startup, "<=", 5.0),
        goal("B5", "peak RSS of ingest and dbt runs (both capture modes), MiB", project_rss, "<=", 1024.0),
        goal(
            "B6",
            "logs export bytes / gzip of the seed's compressed JSON with each record's id",
            b6["export_parquet_bytes"] / b6["gzip_seed_compressed_json_with_ids_bytes"],
            "<=",
            0.35,
        ),
        figure(
            "B6",
            "the floor: the record ids alone (random UUIDs, 16 bytes) / the same",
            b6["record_id_bytes_as_uuids"] / b6["gzip_seed_compressed_json_with_ids_bytes"],
        ),
        goal(
            "B6",
            "the export, against gzip of the API's records as fetched",
            b6["export_parquet_bytes"] / b6["gzip_api_records_json_bytes"],
            "<=",
            0.15,
        ),
        goal(
            "B7a",
            "binlog first run (snapshot), speed vs the timestamp mode's full read",
            seconds("B7", "timestamp mode: full") / seconds("B7", "binlog mode: first run"),
            ">=",
            0.8,
        ),
        goal(
            "B7b",
            "binlog capture of updates, deletes and inserts, changes/s",
            updates / seconds("B7", "binlog mode: capture"),
            ">=",
            20_000.0,
        ),
        figure(
            "B7",
            "catch-up after 1% changed: binlog / timestamp seconds",
            seconds("B7", "binlog mode: catch-up") / seconds("B7", "timestamp mode: incremental"),
        ),
        figure("B8", "Spark local[2] / DuckDB seconds", seconds("B8", "Spark local[2]") / seconds("B8", "DuckDB")),
        figure("B8", "Spark rows/s per core beyond start-up, 1 core", spark_rows_per_core_second(1)),
        figure("B8", "Spark rows/s per core beyond start-up, 2 cores", spark_rows_per_core_second(2)),
        figure(
            "B8",
            "DuckDB rows/s per core",
            b8_rows / seconds("B8", "DuckDB") / (os.cpu_count() or 1),
        ),
    ]
