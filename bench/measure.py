"""Whole processes, timed: wall seconds and the child's peak RSS, min and median of repeats."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class BenchStepError(RuntimeError):
    """A measured process failed; the message holds the end of its output."""


@dataclass
class Measurement:
    """One line of the table: what ran, with each repeat's seconds and peak RSS."""

    group: str
    label: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mib: list[float] = field(default_factory=list)
    rows: int | None = None

    @property
    def min_seconds(self) -> float:
        return min(self.seconds)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    def as_json(self) -> dict:
        return {
            "group": self.group,
            "label": self.label,
            "rows": self.rows,
            "seconds": [round(value, 3) for value in self.seconds],
            "min_seconds": round(self.min_seconds, 3),
            "median_seconds": round(self.median_seconds, 3),
            "peak_rss_mib": round(max(self.peak_rss_mib), 1) if self.peak_rss_mib else None,
        }


def run(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
    """Runs `argv` to the end; its wall seconds and peak RSS in MiB (the largest of it and its children)."""
    started = time.perf_counter()
    with open(os.devnull, "rb") as stdin:
        process = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        output = process.stdout.read() if process.stdout else b""
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-15:]
        raise BenchStepError(f"{' '.join(argv)} exited {process.returncode}:\n" + "\n".join(tail))
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def repeat(
    measurement: Measurement,
    times: int,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    before_each: Callable[[], None] | None = None,
) -> Measurement:
    """Runs `argv` `times` times (calling `before_each` first, untimed) and records each run."""
    for attempt in range(times):
        if before_each:
            before_each()
        print(f"  {measurement.label} ({attempt + 1}/{times}) …", flush=True)
        seconds, rss = run(argv, env, cwd)
        measurement.seconds.append(seconds)
        measurement.peak_rss_mib.append(rss)
    return measurement
