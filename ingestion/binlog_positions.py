"""Places in a server's binary log: a file and offset, and on MariaDB a GTID position too, which another
server's log holds as well when it is a replica of the first (`holds_the_same_transactions`); the log's
files, and how far a place is behind its end (for `make status`).
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from ingestion.errors import BinlogError


def check_holds_the_same_transactions(engine: sa.Engine, saved: str, now: str, position: dict) -> None:
    """Another server can go on from `position` only by GTID, and only if its log holds the transaction the
    position ends with (a replica of the first server, after a failover); else a `BinlogError` saying what to do."""
    shared = False
    if position.get("gtid") is not None:
        with engine.connect() as connection:
            state = connection.exec_driver_sql("select @@gtid_binlog_state").scalar() or ""
        held = {_gtid_key(gtid): _gtid_seq(gtid) for gtid in state.split(",") if gtid}
        shared = all(held.get(_gtid_key(gtid), -1) >= _gtid_seq(gtid) for gtid in position["gtid"].split(",") if gtid)
    if not shared:
        raise BinlogError(
            f"the capture stopped at {position['file']}:{position['pos']} in the binary log of the server with "
            f"{saved}, and ORDERS_DB_URL now reaches the server with {now}, whose log does not hold the same "
            "transactions (by GTID): take a new snapshot there (`python -m ingestion run --source orders "
            "--full-refresh`), or point ORDERS_DB_URL back"
        )


def start_of_the_log(engine: sa.Engine, captured: str) -> dict:
    """The start of the oldest binary log the server keeps, once it is known to hold every transaction after
    the GTID position `captured`; else a `BinlogError` saying they were purged."""
    with engine.connect() as connection:
        oldest = connection.exec_driver_sql("show binary logs").fetchone()[0]
        at_start = connection.exec_driver_sql("select binlog_gtid_pos(%s, 4)", (oldest,)).scalar() or ""
    before = {_gtid_key(gtid).split("-")[0]: _gtid_seq(gtid) for gtid in at_start.split(",") if gtid}
    if any(before.get(domain, -1) > _gtid_seq(gtid) for domain, gtid in gtid_items(captured)):
        raise BinlogError(
            f"the transactions after GTID {captured}, where this capture stopped, are no longer on the server "
            f"(purged; its oldest log {oldest} starts after {at_start}): changes in between are lost to the log. "
            "Take a new snapshot: `python -m ingestion run --source orders --full-refresh`"
        )
    return {"file": oldest, "pos": 4}


def _gtid_key(gtid: str) -> str:
    """A MariaDB GTID `domain-server-seq`'s domain and server."""
    return gtid.strip().rsplit("-", 1)[0]


def _gtid_seq(gtid: str) -> int:
    return int(gtid.strip().rsplit("-", 1)[1])


def gtid_items(position: str) -> Iterator[tuple[str, str]]:
    """A GTID position `0-7-25,1-8-3` as (domain, GTID) pairs."""
    for gtid in position.split(","):
        if gtid.strip():
            yield gtid.strip().split("-", 1)[0], gtid.strip()


def log_files(engine: sa.Engine) -> tuple[list[tuple[str, int]], int]:
    """The binary log files the server keeps, oldest first, with their sizes; and after how many seconds it
    purges them (`binlog_expire_logs_seconds`, 0: never)."""
    with engine.connect() as connection:
        files = [(name, int(size)) for name, size, *_ in connection.exec_driver_sql("show binary logs").fetchall()]
        expire = connection.exec_driver_sql("show global variables like 'binlog_expire_logs_seconds'").fetchone()
    return files, int(expire[1]) if expire else 0


def bytes_behind(files: list[tuple[str, int]], position: dict) -> int | None:
    """How many bytes of the log come after `position` (None when its file is no longer kept)."""
    names = [name for name, _ in files]
    if position["file"] not in names:
        return None
    at = names.index(position["file"])
    return files[at][1] - position["pos"] + sum(size for _, size in files[at + 1 :])
