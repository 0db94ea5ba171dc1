"""What the loader says when something fails: the cause in one line, and what waits for the next run."""

from __future__ import annotations

import re

WAITS = "nothing is lost: its log polls wait on disk and its orders are read again, for the next run"


class SourceError(RuntimeError):
    """A source cannot be read; the message says which setting to check."""


class BinlogError(RuntimeError):
    """The server cannot serve the binary log as ORDERS_CAPTURE=binlog needs; the message says what to change."""


def is_native_panic(error: BaseException) -> bool:
    """Whether `error` is a panic of a Rust reader (connectorx's `PanicException`, say, when the server
    drops the connection mid-read): pyo3 raises it as a BaseException, so `except Exception` misses it.
    """
    return type(error).__name__ == "PanicException"


def root_cause(error: BaseException) -> str:
    while not _worker_traceback(cause := error.__cause__ or error.__context__):
        error = cause
    if isinstance(error, BinlogError):  # its message is the whole story
        return str(error)
    holder = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", str(error))
    if holder:
        return (
            f"the warehouse is open in another program ({holder[1]}, pid {holder[2]}): close it and run again "
            "(`make sql` reads a snapshot and never holds the warehouse)"
        )
    return f"{type(error).__name__}: {first_line(error)}"


def _worker_traceback(cause: BaseException | None) -> bool:
    """Whether the chain ends here: no cause, or the text of a worker process's traceback, which a process pool
    (dlt's normalize) attaches to the worker's exception: that exception is the cause worth naming."""
    return cause is None or type(cause).__name__ == "_RemoteTraceback"


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
