"""`make bench` labels each row by what ran."""

from __future__ import annotations

import os
import subprocess
import sys

from settings import REPO_ROOT
from transforms.log_decryption import PARALLEL_FROM_ROWS


def test_below_the_parallel_threshold_the_model_row_says_one_process(tmp_path):
    rows = PARALLEL_FROM_ROWS // 25
    bench = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_TOKENS": str(rows)},
        capture_output=True,
        text=True,
    )

    assert bench.returncode == 0, bench.stderr
    table = bench.stdout.split("\n\n")[-2]
    assert "decrypt + parse + typed, 1 process " in table
    assert "processes" not in table
