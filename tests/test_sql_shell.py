"""`make sql`: a shell on a snapshot that never blocks a run and leaves no copy of the warehouse behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb

from tests.terminal import Terminal
from tests.workspace import Workspace
from warehouse.shell import SNAPSHOTS


def copies_left(workspace: Workspace) -> list[str]:
    folder = workspace.settings.warehouse_path.parent / SNAPSHOTS
    return sorted(str(path) for path in folder.rglob("*")) if folder.exists() else []


def test_the_shell_answers_and_leaves_no_copy_behind(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")

    shell = workspace.cli("warehouse", "sql", input="select count(*) as orders from raw.orders;")

    assert shell.returncode == 0, shell.stderr
    assert "tables: raw.orders" in shell.stderr
    assert str(workspace.query("select count(*) from raw.orders")[0][0]) in shell.stdout
    assert copies_left(workspace) == []


def test_an_open_shell_never_blocks_a_run(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")
    before = workspace.query("select count(*) from raw.orders")[0][0]
    shell = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "sql"],
        cwd=tmp_path,
        env=workspace.environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in shell.stderr:  # the snapshot is taken: the shell waits for its first query
        if line.startswith("note: this shell reads a snapshot"):
            break

    run = workspace.cli("ingestion", "run", "--source", "orders")
    answer, _ = shell.communicate("select count(*) as orders from raw.orders;")

    assert run.returncode == 0, run.stderr
    assert workspace.query("select count(*) from raw.orders")[0][0] > before
    assert str(before) in answer, "the shell reads the snapshot it opened"
    assert copies_left(workspace) == []


def test_a_shell_before_the_first_ingest_says_what_to_run_first(tmp_path):
    shell = Workspace(tmp_path).cli("warehouse", "sql", input="select 1;")

    assert shell.returncode == 1
    assert shell.stderr.strip().splitlines()[-1] == (
        f"error: no warehouse at {tmp_path}/warehouse.duckdb yet: run `make ingest` (then `dbt run`) first"
    )


def test_the_copy_of_a_killed_shell_is_deleted_by_the_next_one(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")
    killed = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "sql"],
        cwd=tmp_path,
        env=workspace.environment,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in killed.stderr:
        if line.startswith("note: this shell reads a snapshot"):
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert copies_left(workspace), "a killed shell cannot clean up"

    workspace.cli("warehouse", "sql", input="select 1;")

    assert copies_left(workspace) == []
    killed.stdin.close()  # its DuckDB CLI, left behind, ends at the end of its input


def test_a_run_blocked_by_another_program_holding_the_warehouse_says_so_in_one_line(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")

    with duckdb.connect(str(workspace.settings.warehouse_path)):
        blocked = workspace.cli("ingestion", "run", "--source", "orders")

    assert blocked.returncode == 1
    [error] = [line for line in blocked.stderr.splitlines() if line.startswith("error:")]
    assert "the warehouse is open in another program (" in error and f"pid {os.getpid()})" in error
    assert "unfinished earlier run" not in blocked.stderr, "the summary reports only what was loaded"


def test_make_ide_opens_harlequin_on_a_snapshot_that_never_blocks_a_run(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")
    terminal = Terminal()
    ide = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "ide"],
        cwd=tmp_path,
        env={**workspace.environment, "TERM": "xterm-256color"},
        stdin=terminal.device,
        stdout=terminal.device,
        stderr=terminal.device,
        start_new_session=True,
    )
    try:
        screen = terminal.wait_for("Data Catalog", "Query Editor", "warehouse")
        run = workspace.cli("ingestion", "run", "--source", "orders")
        terminal.type("\x11")  # Ctrl+Q quits harlequin
        code = ide.wait(timeout=60)
    finally:
        if ide.poll() is None:
            ide.kill()
        terminal.close()

    assert "tables: raw.orders" in screen and "Locale Not Set" not in screen
    assert run.returncode == 0, run.stderr
    assert code == 0
    assert copies_left(workspace) == []


def test_a_session_typed_at_the_terminal_ends_with_success_after_a_failed_statement(tmp_path):
    """`.quit` is a normal end, whatever the session's statements did: make says nothing after it."""
    workspace = Workspace(tmp_path)
    workspace.ingest("orders")
    terminal = Terminal()
    shell = subprocess.Popen(
        [sys.executable, "-m", "warehouse", "sql"],
        cwd=tmp_path,
        env={**workspace.environment, "TERM": "xterm-256color"},
        stdin=terminal.device,
        stdout=terminal.device,
        stderr=terminal.device,
        start_new_session=True,
    )
    try:
        terminal.wait_for("tables: raw.orders", "D ")
        terminal.type("select * from no_such_table;\n")
        terminal.wait_for("Catalog Error")
        terminal.type(".quit\n")
        code = shell.wait(timeout=60)
    finally:
        if shell.poll() is None:
            shell.kill()
        terminal.close()

    assert code == 0
    piped = workspace.cli("warehouse", "sql", input="select * from no_such_table;")
    assert piped.returncode == 1, "SQL piped in still fails with its statement"
