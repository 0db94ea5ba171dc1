"""Whole processes, timed: wall seconds and the child's peak RSS, min and median of repeats."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
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


class Launcher:
    """The small process that starts each measured command (see `bench/launcher.py` for why)."""

    _process: subprocess.Popen | None = None

    @classmethod
    def run(cls, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> dict:
        if cls._process is None or cls._process.poll() is not None:
            cls._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("launcher.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd)}
        cls._process.stdin.write(json.dumps(request) + "\n")
        cls._process.stdin.flush()
        return json.loads(cls._process.stdout.readline())


def run(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
    """Runs `argv` to the end; its wall seconds and peak RSS in MiB (the largest of it and its children)."""
    answer = Launcher.run(argv, env, cwd)
    if answer["exit_code"] != 0:
        raise BenchStepError(f"{' '.join(argv)} exited {answer['exit_code']}:\n" + "\n".join(answer["tail"]))
    return answer["seconds"], answer["peak_rss_kib"] / 1024


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
