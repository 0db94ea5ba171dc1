"""`make bench`: every measurement next to its baselines, in one run, with the goals it is judged by."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from settings import REPO_ROOT

pytestmark = pytest.mark.mysql


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
    ):
        assert baseline in table
    [written] = tmp_path.glob("*.json")
    result = json.loads(written.read_text())
    assert result["rows"] == 1500
    assert {"duckdb", "dlt", "dbt-core", "python"} <= result["versions"].keys()
    assert result["machine"]["cpus"] == os.cpu_count()
    assert {goal["id"] for goal in result["goals"]} == {"B1", "B2", "B3", "B5", "B6"}
    for goal in result["goals"]:
        assert f"{goal['id']:<4}{goal['measure']}" in table
    for measurement in result["measurements"]:
        assert measurement["min_seconds"] <= measurement["median_seconds"]
        assert measurement["peak_rss_mib"] > 0
    assert result["b6"]["records"] == 1500
