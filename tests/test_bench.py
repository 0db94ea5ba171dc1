"""`make bench`: every measurement next to its baselines, in one run, with the goals it is judged by."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import measure
from settings import REPO_ROOT

pytestmark = pytest.mark.mysql


@pytest.mark.bench
def test_the_bench_prints_each_measurement_with_its_baselines_and_the_goals_and_keeps_the_results(tmp_path):
    bench = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_ROWS": "1500", "BENCH_REPEATS": "1", "BENCH_RESULTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
    table = bench.stdout
    for baseline in (
        "DuckDB mysql_scanner CTAS",
        "connectorx -> Arrow -> DuckDB",
        "dlt sql_table, default backend",
        "the book's PyMySQL fetchall -> CSV",
        "1-core loop: Fernet.decrypt + ast.literal_eval",
        "timestamp mode: full extraction",
        "binlog mode: catch-up after 1% changed",
        "DuckDB: dbt run --full-refresh",
        "Spark local[1]: the same",
        "Spark local[2]: the same",
    ):
        assert baseline in table
    [written] = tmp_path.glob("*.json")
    result = json.loads(written.read_text())
    assert result["rows"] == 1500
    assert {"duckdb", "dlt", "dbt-core", "python"} <= result["versions"].keys()
    assert result["machine"]["cpus"] == os.cpu_count()
    assert {goal["id"] for goal in result["goals"]} == {"B1", "B2", "B3", "B5", "B6", "B7", "B7a", "B7b", "B8"}
    for goal in result["goals"]:
        assert f"{goal['id']:<4}{goal['measure']}" in table
    for measurement in result["measurements"]:
        assert measurement["min_seconds"] <= measurement["median_seconds"]
        assert measurement["peak_rss_mib"] > 0
    assert result["b6"]["records"] == 1500


def test_a_measured_process_reports_its_own_peak_memory_not_the_benchmarks(tmp_path):
    """Linux carries peak RSS across exec from the forking process: the bench holds data, its children must not."""
    held_by_the_bench = bytearray(600 * 2**20)
    held_by_the_bench[::4096] = b"\x01" * len(held_by_the_bench[::4096])  # touch every page

    _, small_child_mib = measure.run([sys.executable, "-c", "pass"], os.environ, tmp_path)
    _, large_child_mib = measure.run(
        [sys.executable, "-c", "data = bytearray(300 * 2**20); data[::4096] = b'1' * len(data[::4096])"],
        os.environ,
        tmp_path,
    )

    assert small_child_mib < 100
    assert 300 < large_child_mib < 500
    assert len(held_by_the_bench) == 600 * 2**20


def test_a_measured_process_that_fails_stops_the_bench_with_the_end_of_its_output(tmp_path):
    with pytest.raises(measure.BenchStepError, match="no such table: orders"):
        measure.run([sys.executable, "-c", "raise SystemExit('no such table: orders')"], os.environ, tmp_path)
