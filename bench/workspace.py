"""A benchmark's own warehouse, lake and working folders, and the checks that a run did its work."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from settings import REPO_ROOT, VARIABLES


@dataclass(frozen=True)
class Workspace:
    """A warehouse, a lake and dlt's and dbt's working folders of their own, under `root`."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def env(self, **extra: str) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in VARIABLES}
        env.update(
            DO_NOT_TRACK="1",
            RUNTIME__DLTHUB_TELEMETRY="false",
            WAREHOUSE_PATH=str(self.warehouse),
            LAKE_URL=str(self.root / "lake"),
            PIPELINES_DIR=str(self.root / "pipelines"),
            SANDBOX_DIR=str(self.root / "sandbox"),
            DBT_TARGET_PATH=str(self.root / "target"),
            DBT_LOG_PATH=str(self.root / "logs"),
            PYTHONPATH=str(REPO_ROOT),
        )
        env.update(extra)
        return env

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)


def count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(f"select count(*) from {table}").fetchone()[0]


def expect(rows: int, expected: int, label: str) -> None:
    """A benchmark of a run that did not do the work would flatter it: stop instead."""
    if rows != expected:
        raise SystemExit(f"error: {label} produced {rows:,} rows, expected {expected:,}")


def dbt(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "dbt"), *args]
