"""A project checkout in a temporary folder's terms: its own warehouse, lake and dlt state."""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
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
        target = self.folder / "target"
        arguments = (*arguments, "--target-path", str(target), "--log-path", str(self.folder))
        returncode, output = dbt_command(arguments, self.environment, target)
        assert (returncode == 0) == succeeds, output[-4000:]
        return output

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


class DbtForkServer:
    """A warm dbt (tests/dbt_forkserver.py): each command a fork of one process that imported dbt once."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.dbt_forkserver"],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.busy = threading.Lock()
        self.parses = Path(tempfile.mkdtemp(prefix="dbt-parses-"))
        ready = self.process.stdout.readline()
        assert json.loads(ready or "{}").get("ready"), "the dbt fork server did not start: see its stderr above"

    def close(self) -> None:
        self.process.stdin.close()  # the server ends at the end of its input
        self.process.wait(timeout=60)
        shutil.rmtree(self.parses, ignore_errors=True)

    def run(self, arguments: tuple[str, ...], environment: dict[str, str], target: Path) -> tuple[int, str] | None:
        """`dbt <arguments>` run from the repository root; None when another thread is using the server."""
        if not self.busy.acquire(blocking=False):
            return None
        try:
            target.mkdir(parents=True, exist_ok=True)
            parsed = target / "partial_parse.msgpack"
            shared = self.parses / f"{_parse_key(arguments)}.msgpack"
            if shared.exists() and not parsed.exists():
                shutil.copy(shared, parsed)
            stdout, stderr = target / "dbt-stdout", target / "dbt-stderr"
            request = {
                "arguments": list(arguments),
                "cwd": str(REPO_ROOT),
                "environment": environment,
                "stdout": str(stdout),
                "stderr": str(stderr),
            }
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            reply = json.loads(self.process.stdout.readline())
            output = stdout.read_text()
            stdout.unlink()
            stderr.unlink()
            if parsed.exists() and not shared.exists():
                shutil.copy(parsed, shared)
            return reply["returncode"], output
        finally:
            self.busy.release()


def _parse_key(arguments: tuple[str, ...]) -> str:
    """What else dbt's partial-parse check compares: the `--vars` and the target given."""
    given = [value for option, value in itertools.pairwise(arguments) if option in ("--vars", "--target", "-t")]
    return hashlib.sha256(repr(given).encode()).hexdigest()[:16]


@functools.cache
def _fork_server() -> DbtForkServer:
    server = DbtForkServer()
    atexit.register(server.close)
    return server


def dbt_command(arguments: tuple[str, ...], environment: dict[str, str], target: Path) -> tuple[int, str]:
    """Exit code and standard output of `dbt <arguments>` from the repository root (`target`: its target path)."""
    answer = _fork_server().run(arguments, environment, target)
    if answer is not None:
        return answer
    result = subprocess.run([str(DBT), *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    return result.returncode, result.stdout


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
