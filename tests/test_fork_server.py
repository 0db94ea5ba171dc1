"""The tests' fork server (tests/forkserver.py) stays usable whatever state the project is in."""

from __future__ import annotations

import os
import platform
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from settings import REPO_ROOT
from tests.workspace import ForkServer

PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "analyses", "data_tests")


def test_a_project_that_failed_to_parse_as_the_server_started_parses_in_its_commands_once_fixed(tmp_path):
    """A model that does not compile while the server warms up (a developer mid-edit) must not leave
    dbt's Rust static parser started in the server, where every forked command would wait on its
    threads for ever: once the model is fixed, the next command parses and answers."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        copy = shutil.copytree if (REPO_ROOT / name).is_dir() else shutil.copy
        copy(REPO_ROOT / name, project / name)
    broken = project / "models" / "marts" / "broken.sql"
    broken.write_text("select {{ 1 + }} as x\n")  # a Jinja syntax error
    environment = {
        **os.environ,
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LAKE_URL": str(tmp_path / "lake"),
        "PIPELINES_DIR": str(tmp_path / "pipelines"),
        "SANDBOX_DIR": str(tmp_path / "sandbox"),
    }
    server = ForkServer(project)
    pool = ThreadPoolExecutor(1)
    try:
        assert server.parsed is None, "the warm-up parsed a project that does not compile"
        broken.write_text("select 1 as x\n")
        paths = ("--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path))
        command = pool.submit(server.run, None, ("parse", *paths), project, environment, None)
        result = command.result(timeout=120)
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        kill_with_its_children(server.process.pid)
        pool.shutdown(wait=False)
        server.close()


def kill_with_its_children(pid: int) -> None:
    """SIGKILL to `pid` and to the processes it forked (a command left waiting)."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        os.kill(int(child), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


class TimedOutError(Exception):
    """What pytest-timeout raises in a test that outlives its limit."""


def test_a_command_interrupted_while_it_runs_does_not_answer_for_the_next_one(tmp_path):
    """A test stopped by its timeout while the server runs its command (a slow Spark build) leaves that
    command's reply on its way: the next test's command must get its own output, not that one's."""
    server = ForkServer()
    environment = dict(os.environ)
    slow = ("-n", "1", "-r", "1", "import time; time.sleep(3)")

    def interrupt(signum, frame):
        raise TimedOutError

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(TimedOutError):
            server.run("timeit", slow, tmp_path, environment, None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    try:
        after = server.run("platform", (), tmp_path, environment, None)
    finally:
        server.close()

    assert after.returncode == 0
    assert "loop" not in after.stdout
    assert after.stdout.strip() == platform.platform()
