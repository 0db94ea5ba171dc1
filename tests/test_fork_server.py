"""The tests' fork server (tests/forkserver.py) stays usable whatever state the project is in."""

from __future__ import annotations

import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
