"""`make sql`: the DuckDB CLI on the warehouse."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

from settings import Settings
from warehouse.tables import tables


def open_shell(settings: Settings) -> int:
    """Replaces this process with the DuckDB CLI on the warehouse.

    DuckDB lets no other process open a file that one process is writing, even read-only; so
    while a run holds the warehouse, the shell opens a read-only snapshot of its last checkpoint.
    """
    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if cli is None:
        print("error: the duckdb CLI is missing: run `make setup`", file=sys.stderr)
        return 1
    path = settings.warehouse_path
    arguments = [cli, str(path)]
    if _locked(path):
        snapshot = Path(tempfile.mkdtemp(prefix="warehouse-snapshot-")) / path.name
        shutil.copyfile(path, snapshot)
        arguments = [cli, "-readonly", str(snapshot)]
        print(
            "note: another process (make ingest, dbt) is writing the warehouse; this shell reads a snapshot of "
            "its last checkpoint",
            file=sys.stderr,
        )
    if path.exists():
        with duckdb.connect(arguments[-1], read_only=True) as connection:
            names = ", ".join(
                f"{schema}.{name}" if schema != "main" else name for schema, name, _ in tables(connection)
            )
        print(f"tables: {names or 'none yet (run `make all`)'}", file=sys.stderr)
    os.execv(cli, arguments)
    return 0


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException:
        return True
    return False
