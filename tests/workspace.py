"""A project checkout in a temporary folder's terms: its own warehouse, lake and dlt state."""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import duckdb

from ingestion import runner
from ingestion.sandboxes import sources_or_sandboxes
from settings import REPO_ROOT, Settings

DBT = Path(sys.executable).parent / "dbt"


def run_with_sandboxes(
    settings: Settings, sources: tuple[str, ...] = runner.SOURCES, full_refresh: bool = False
) -> runner.Report:
    """`runner.run` as the command line calls it: the sandboxes stand in for the sources `settings` leave unset."""
    with sources_or_sandboxes(settings, sources) as chosen:
        return runner.run(chosen, sources, full_refresh=full_refresh)


class Workspace:
    def __init__(self, folder: Path, *, dbt_log_file: bool = False, **environment: str) -> None:
        """A project in `folder`; `environment` adds to or overrides the settings (variables by name).

        dbt's debug log file (`dbt.log`) costs about a tenth of a small build, so its commands here write
        none unless `dbt_log_file` is set (for the tests that read every file a run leaves).
        """
        self.folder = folder
        self.dbt_log_file = dbt_log_file
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
        report = run_with_sandboxes(self.settings, sources or runner.SOURCES, full_refresh=full_refresh)
        assert report.ok, report.errors
        return report

    def dbt(self, *arguments: str, succeeds: bool = True) -> str:
        """Runs dbt from the repository root against this workspace's warehouse; returns its output."""
        target = self.folder / "target"
        arguments = (*arguments, "--target-path", str(target), "--log-path", str(self.folder))
        if not self.dbt_log_file:
            arguments = (*arguments, "--log-level-file", "none")
        returncode, output = dbt_command(arguments, self.environment, target)
        assert (returncode == 0) == succeeds, output[-4000:]
        return output

    def cli(self, module: str, *arguments: str, input: str | None = None) -> subprocess.CompletedProcess:  # noqa: A002 (subprocess's name)
        """Runs `python -m <module> <arguments>` as a user would, in this workspace's folder (`input`: its stdin)."""
        return python_module(module, arguments, self.folder, self.environment, stdin_text=input)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as connection:
            return connection.execute(sql).fetchall()


class ForkServer:
    """A warm Python (tests/forkserver.py): each command a fork of one process that imported dbt and dlt once."""

    def __init__(self, project: Path = REPO_ROOT) -> None:
        """A server whose warm-up runs dbt in `project` (a dbt project folder)."""
        self.project = project
        self.busy = threading.Lock()
        self.parsed = self._start()

    def _start(self) -> Path | None:
        """Starts the server, in a process group of its own; returns its warm-up's partial parse."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=self.project,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.streams = Path(tempfile.mkdtemp(prefix="fork-server-"))
        ready = json.loads(self.process.stdout.readline() or "{}")
        assert ready.get("ready"), "the fork server did not start: see its stderr above"
        return ready["parsed"] and Path(ready["parsed"])

    def _kill(self) -> None:
        """Ends the server and the command it runs: a reply still on its way would answer the next request."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)
        shutil.rmtree(self.streams, ignore_errors=True)
        self.process = None

    def close(self) -> None:
        if self.process is None:
            return
        self.process.stdin.close()  # the server ends at the end of its input
        self.process.wait(timeout=60)
        shutil.rmtree(self.streams, ignore_errors=True)

    def run(
        self,
        module: str | None,
        arguments: tuple[str, ...],
        cwd: Path,
        environment: dict[str, str],
        stdin_text: str | None,
    ) -> subprocess.CompletedProcess | None:
        """`python -m <module> <arguments>` (`dbt <arguments>` if `module` is None) in `cwd`;
        None when another thread is using the server."""
        if not self.busy.acquire(blocking=False):
            return None
        try:
            if self.process is None:  # the last command was interrupted: a new server
                self._start()
            stdin, stdout, stderr = (self.streams / name for name in ("stdin", "stdout", "stderr"))
            if stdin_text is not None:
                stdin.write_text(stdin_text)
            request = {
                "module": module,
                "arguments": list(arguments),
                "cwd": str(cwd),
                "environment": environment,
                "stdin": str(stdin) if stdin_text is not None else None,
                "stdout": str(stdout),
                "stderr": str(stderr),
            }
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
                reply = json.loads(self.process.stdout.readline())
            except BaseException:  # a test's timeout, Ctrl-C
                self._kill()
                raise
            command = [module or "dbt", *arguments]
            return subprocess.CompletedProcess(command, reply["returncode"], stdout.read_text(), stderr.read_text())
        finally:
            self.busy.release()


@functools.cache
def _fork_server() -> ForkServer:
    server = ForkServer()
    atexit.register(server.close)
    return server


@functools.cache
def _shared_parses() -> Path:
    """Partial parses by `_parse_key`, the first being the fork server's warm-up parse (no `--vars`, default target)."""
    folder = Path(tempfile.mkdtemp(prefix="dbt-parses-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    warm_up = _fork_server().parsed
    if warm_up and warm_up.exists():
        shutil.copy(warm_up, folder / f"{_parse_key(())}.msgpack")
    return folder


def _parse_key(arguments: tuple[str, ...]) -> str:
    """What else dbt's partial-parse check compares: the `--vars` and the target given."""
    given = [value for option, value in itertools.pairwise(arguments) if option in ("--vars", "--target", "-t")]
    return hashlib.sha256(repr(given).encode()).hexdigest()[:16]


def dbt_command(arguments: tuple[str, ...], environment: dict[str, str], target: Path) -> tuple[int, str]:
    """Exit code and standard output of `dbt <arguments>` from the repository root (`target`: its target path).

    The first parse made with the same `--vars` and target is copied into `target` first (see
    tests/forkserver.py), and this one kept for the next workspace.
    """
    target.mkdir(parents=True, exist_ok=True)
    parsed = target / "partial_parse.msgpack"
    shared = _shared_parses() / f"{_parse_key(arguments)}.msgpack"
    if shared.exists() and not parsed.exists():
        shutil.copy(shared, parsed)
    result = _fork_server().run(None, arguments, REPO_ROOT, environment, stdin_text=None)
    if result is None:
        result = subprocess.run([str(DBT), *arguments], cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    if parsed.exists() and not shared.exists():
        shutil.copy(parsed, shared)
    return result.returncode, result.stdout


def python_module(
    module: str, arguments: tuple[str, ...], cwd: Path, environment: dict[str, str], stdin_text: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m <module> <arguments>` in `cwd`, its output captured as text: a fork of the warm server,
    or a new interpreter when another thread is using it."""
    result = _fork_server().run(module, arguments, cwd, environment, stdin_text)
    if result is not None:
        return result
    command = [sys.executable, "-m", module, *arguments]
    return subprocess.run(command, cwd=cwd, env=environment, input=stdin_text, capture_output=True, text=True)


def checkout(folder: Path, set_up: bool = True) -> Path:
    """A copy of this checkout's files (as git sees them) in `folder`, sharing its `.venv`: a fresh clone,
    set up (or, with `set_up=False`, with no `.venv` at all)."""
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
    if not set_up:
        return folder
    (folder / ".venv").symlink_to(REPO_ROOT / ".venv")
    # The shared venv is set up already: `make` must see it as newer than what it was built from.
    installed = (REPO_ROOT / ".venv" / ".installed").stat().st_mtime
    for built_from in ("requirements.lock", "pyproject.toml"):
        os.utime(folder / built_from, (installed - 1, installed - 1))
    return folder


def as_a_user(folder: Path) -> dict[str, str]:
    """The environment of a shell in `folder` with its venv activated (`source .venv/bin/activate`)."""
    environment = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "DLT_PROJECT_DIR")}
    return {
        **environment,
        "VIRTUAL_ENV": str(folder / ".venv"),
        "PATH": f"{folder / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
