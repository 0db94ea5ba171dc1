"""`make sql` and `make ide`: the DuckDB CLI, or harlequin, on a snapshot of the warehouse, so an open shell
never blocks a run.

DuckDB lets no other process write a file that one process has open, even read-only. The shell
therefore opens a copy, taken under the run lock (so no run is writing while it is copied: the
copy is never torn) in a private folder next to the warehouse, and deletes it when the shell
ends. A copy left by a shell that was killed is deleted by the next `make sql`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb

from runtime.run_lock import run_lock
from settings import Settings
from warehouse.tables import tables

SNAPSHOTS = ".sql-snapshots"


def open_shell(settings: Settings) -> int:
    """The DuckDB CLI, read-only, with the lake's secret when the lake is on S3.

    A session typed at a terminal ends with success whatever its statements did (the CLI exits 1
    after any failed one, and make would print an error after a normal `.quit`); SQL piped in
    still fails with its first failing statement.
    """

    def arguments(snapshot: Path, folder: Path) -> list[str]:
        # `.read` runs the set-up as a command, in silence; `-init` would announce its file first.
        init = lake_init_file(settings, folder, quiet=True)
        return ["-readonly", *(["-cmd", f".read {init}"] if init else []), str(snapshot)]

    code = _on_snapshot(settings, "duckdb", arguments)
    return 0 if code == 1 and sys.stdin.isatty() else code


def open_ide(settings: Settings) -> int:
    """harlequin (a terminal SQL IDE), read-only, with the lake's secret when the lake is on S3."""
    return _on_snapshot(
        settings,
        "harlequin",
        lambda snapshot, folder: [
            "--read-only",
            *(lake_access(settings, folder) or ["--no-init"]),
            # harlequin formats numbers by the locale; on a machine with none (C/POSIX) it warns instead.
            *(["--locale", "C"] if _no_locale() else []),
            str(snapshot),
        ],
    )


def _no_locale() -> bool:
    name = os.environ.get("LC_ALL") or os.environ.get("LC_NUMERIC") or os.environ.get("LANG") or "C"
    return name.split(".")[0] in ("C", "POSIX")


def _on_snapshot(settings: Settings, program: str, arguments: Callable[[Path, Path], list[str]]) -> int:
    """Runs `program` with `arguments(snapshot, its private folder)`, then deletes the snapshot."""
    executable = shutil.which(program, path=str(Path(sys.executable).parent)) or shutil.which(program)
    if executable is None:
        print(f"error: {program} is missing: run `make setup`", file=sys.stderr)
        return 1
    path = settings.warehouse_path
    if not path.exists():
        print(f"error: no warehouse at {path} yet: run `make ingest` (then `dbt run`) first", file=sys.stderr)
        return 1
    snapshots = path.parent / SNAPSHOTS
    remove_abandoned_snapshots(snapshots)
    folder = snapshots / str(os.getpid())
    folder.mkdir(parents=True, mode=0o700)
    try:
        snapshot = take_snapshot(settings, folder)
        with duckdb.connect(str(snapshot), read_only=True) as connection:
            names = ", ".join(
                f"{schema}.{name}" if schema != "main" else name for schema, name, _ in tables(connection)
            )
        print(f"tables: {names or 'none yet (run `dbt run`)'}", file=sys.stderr)
        print(
            "note: this shell reads a snapshot taken now; runs go on meanwhile (reopen it to see their rows)",
            file=sys.stderr,
        )
        # The shell handles Ctrl-C itself; this process only waits to delete the snapshot.
        command = [executable, *arguments(snapshot, folder)]
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return subprocess.run(command, check=False).returncode
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def lake_access(settings: Settings, folder: Path) -> list[str]:
    """harlequin's options that let it read an S3 lake (see `lake_init_file`)."""
    init = lake_init_file(settings, folder)
    return ["-init", str(init)] if init else []


def lake_init_file(settings: Settings, folder: Path, quiet: bool = False) -> Path | None:
    """With an S3 lake, the SQL that lets a shell read it, in a file in the shell's private folder
    (deleted with it; never in the command line, where other users could read the secret). `quiet`:
    the DuckDB CLI prints nothing while it runs it (no `Success` table for the secret).
    """
    secret = settings.duckdb_lake_secret_sql()
    if secret is None:
        return None
    init = folder / "lake.sql"
    init.touch(mode=0o600)
    statements = f"load httpfs;\n{secret};\n"
    init.write_text(f".output /dev/null\n{statements}.output\n" if quiet else statements)
    return init


def take_snapshot(settings: Settings, folder: Path) -> Path:
    """A copy of the warehouse (and its write-ahead log), made while no run writes it."""
    path = settings.warehouse_path
    with run_lock(path, "make sql (copying the warehouse)", settings.lock_wait_seconds):
        for file in (path, path.with_name(path.name + ".wal")):
            if file.exists():
                shutil.copyfile(file, folder / file.name)
    return folder / path.name


def remove_abandoned_snapshots(snapshots: Path) -> None:
    """Deletes the snapshots of shells that are gone (a killed `make sql` could not clean up)."""
    if not snapshots.is_dir():
        return
    for folder in snapshots.iterdir():
        if folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
