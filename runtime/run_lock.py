"""One run at a time per warehouse and lake: ingest, dbt (run, build, exports) and the scheduler take this lock.

The lock is an `flock` on `<WAREHOUSE_PATH>.lock`: the kernel releases it when its holder dies,
however it dies, so a stale lock never blocks anyone. The file also says who holds it (pid,
command, since when) for the line a blocked run prints. A process that holds the lock passes
it to the commands it starts (the scheduler's ingest and dbt) through `RUN_LOCK_HELD`.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

HELD_BY_PARENT = "RUN_LOCK_HELD"
_PR_SET_PDEATHSIG = 1
# Loaded once, on import: a process forked from a threaded one (the loader's deadline watch) then
# calls prctl without loading anything.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class RunLockBusyError(RuntimeError):
    """Another run holds the lock; the message says who and what to do."""


def lock_path(warehouse_path: Path) -> Path:
    """The lock file of the warehouse, by its full path: dbt names it relative to its folder (the
    default `data/warehouse.duckdb`), the loader and the scheduler absolute, and all must agree."""
    warehouse_path = Path(warehouse_path).resolve()
    return warehouse_path.with_name(warehouse_path.name + ".lock")


@contextmanager
def run_lock(warehouse_path: Path, command: str, wait_seconds: float) -> Iterator[None]:
    """Holds the lock of the warehouse at `warehouse_path` (and its lake) while the block runs.

    Waits up to `wait_seconds` for another run to finish, then raises `RunLockBusyError`.
    """
    handle = acquire(warehouse_path, command, wait_seconds)
    try:
        yield
    finally:
        release(handle)


def acquire(warehouse_path: Path, command: str, wait_seconds: float) -> int | None:
    """Takes the lock (None when a parent process holds it for this one); see `run_lock`."""
    path = lock_path(warehouse_path)
    if os.environ.get(HELD_BY_PARENT) == str(path):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    said_so = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _holder(path)
            if time.monotonic() >= deadline:
                os.close(handle)
                raise RunLockBusyError(
                    f"another run holds the warehouse {warehouse_path}: {holder}; wait for it to finish (or stop "
                    f"it), or raise LOCK_WAIT_SECONDS (now {wait_seconds:g}) to wait longer"
                ) from None
            if not said_so:
                print(f"waiting up to {wait_seconds:g} s for another run: {holder}", file=sys.stderr, flush=True)
                said_so = True
            time.sleep(0.2)
    since = datetime.now(UTC).isoformat(timespec="seconds")
    os.ftruncate(handle, 0)
    os.pwrite(handle, json.dumps({"pid": os.getpid(), "command": command, "since": since}).encode(), 0)
    os.environ[HELD_BY_PARENT] = str(path)
    return handle


def release(handle: int | None) -> None:
    if handle is None:
        return
    os.environ.pop(HELD_BY_PARENT, None)
    os.ftruncate(handle, 0)
    fcntl.flock(handle, fcntl.LOCK_UN)
    os.close(handle)


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:
    """Asks Linux to send this process `signal_number` when its parent dies (e.g. `make`, killed with -9),
    so no run outlives the command that started it. A no-op elsewhere.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0)


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "a run that is starting"
    return f"pid {holder['pid']} ({holder['command']}) since {holder['since']}"
