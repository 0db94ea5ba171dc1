"""A project checkout in a temporary folder's terms: its own warehouse, lake and dlt state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion import runner
from settings import REPO_ROOT, Settings

DBT = Path(sys.executable).parent / "dbt"


class Workspace:
    def __init__(self, folder: Path, **environment: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.environment = {
            **os.environ,
            "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
            "LAKE_URL": str(folder / "lake"),
            "PIPELINES_DIR": str(folder / "pipelines"),
            "SANDBOX_DIR": str(folder / "sandbox"),
            "DO_NOT_TRACK": "1",
            **environment,
        }
        self.settings = Settings.from_env(self.environment, root=folder)

    def ingest(self, *sources: str, full_refresh: bool = False) -> runner.Report:
        report = runner.run(self.settings, sources or runner.SOURCES, full_refresh=full_refresh)
        assert report.ok, report.errors
        return report

    def dbt(self, *arguments: str, succeeds: bool = True) -> str:
        """Runs dbt from the repository root against this workspace's warehouse; returns its output."""
        result = subprocess.run(
            [str(DBT), *arguments, "--target-path", str(self.folder / "target"), "--log-path", str(self.folder)],
            cwd=REPO_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
        )
        assert (result.returncode == 0) == succeeds, result.stdout[-4000:]
        return result.stdout

    def cli(self, module: str, *arguments: str, **options) -> subprocess.CompletedProcess:
        """Runs `python -m <module> <arguments>` as a user would, in this workspace's folder."""
        return subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=self.folder,
            env=self.environment,
            capture_output=True,
            text=True,
            **options,
        )

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def checkout(folder: Path) -> Path:
    """A copy of this checkout's files (as git sees them) in `folder`, sharing its `.venv`: a fresh clone, set up."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in files.stdout.splitlines():
        if (REPO_ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, folder / name)
    (folder / ".venv").symlink_to(REPO_ROOT / ".venv")
    # The shared venv is set up already: `make` must see it as newer than what it was built from.
    installed = (REPO_ROOT / ".venv" / ".installed").stat().st_mtime
    os.utime(folder / "requirements.lock", (installed - 1, installed - 1))
    return folder


def as_a_user(folder: Path) -> dict[str, str]:
    """The environment of a shell in `folder` with its venv activated (`source .venv/bin/activate`)."""
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "DLT_PROJECT_DIR")}
    return {
        **environment,
        "VIRTUAL_ENV": str(folder / ".venv"),
        "PATH": f"{folder / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
