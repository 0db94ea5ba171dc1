"""`ORDERS_CAPTURE=binlog`: every change to the `Orders` table, read from the server's binary log (ROW format).

The first run takes a consistent snapshot of the table at a recorded binlog position, and lands
its rows as `snapshot` changes; every run then reads the log from the saved position to its
current end. The position is dlt resource state, committed with the rows in the same load package,
so a run killed anywhere is completed by the next one without a change lost or doubled (the same
guarantee as the timestamp mode). Each change lands unchanged in `orders_changes`: the operation,
the row's values before and after (`before__order_id`, `after__order_status`, …), the binlog file
and position, the row's place in its event, and the event's time. dbt replays them into the
table's current rows (`int_order_rows`).

Changes reach dlt as Arrow tables (`change_batches`), one column per column of the table before and
after, typed as the table declares it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
import pyarrow as pa
import pymysql
import sqlalchemy as sa
from dlt.sources import DltResource

from ingestion.binlog_positions import check_holds_the_same_transactions, gtid_items, start_of_the_log
from ingestion.binlog_statements import check_not_replaced
from ingestion.change_batches import ChangeBatches, arrow_type
from ingestion.errors import BinlogError, first_line
from ingestion.row_ids import with_row_ids
from settings.sources import ORDERS

__all__ = ["RESOURCE", "BinlogError", "check_server", "orders_binlog"]

RESOURCE = "orders_changes"
# The columns the order models read (as the timestamp mode's `orders_db.KEY_COLUMNS`).
KEY_COLUMNS = ("OrderId", "OrderStatus", "LastUpdated")
# A replica id for this reader; the server only needs it to differ from real replicas'.
SERVER_ID = 0x454C54  # "ELT"


@dlt.source(name=ORDERS.dlt_name)
def orders_binlog(engine: sa.Engine, table: str = "Orders") -> DltResource:
    """The changes of `table`, snapshot first, appended to `orders_changes`."""
    return dlt.resource(_changes(engine, table), name=RESOURCE, write_disposition="append").add_map(with_row_ids)


def _changes(engine: sa.Engine, table: str) -> Iterator[pa.Table]:
    state = dlt.current.resource_state(RESOURCE)
    batches = ChangeBatches(check_server(engine, table))
    server, position = server_identity(engine), state.get("position")
    if position is None:
        position = yield from _snapshot(engine, table, batches)
    elif state.get("server", server) != server:  # (a state from before servers were recorded: this one)
        # after a failover: the new server's log read from its start, less the transactions captured already
        check_holds_the_same_transactions(engine, state["server"], server, position)
        position = {**start_of_the_log(engine, position["gtid"]), "gtid": position["gtid"], "skip": True}
    else:
        _check_not_purged(engine, position)
    state["server"] = server
    state["position"] = yield from _stream(engine, table, batches, position)
    if batches.newest_event is not None:  # for `make status`: how old the changes still to capture can be
        state["captured_until"] = batches.newest_event.isoformat()


def server_identity(engine: sa.Engine) -> str:
    """Which server's binary log a position is in: MySQL's `server_uuid`; MariaDB, which has none, by its
    `server_id` and GTID domain."""
    with engine.connect() as connection:
        variables = dict(
            connection.exec_driver_sql(
                "show global variables where variable_name in ('server_uuid', 'server_id', 'gtid_domain_id')"
            ).fetchall()
        )
    if variables.get("server_uuid"):
        return f"server_uuid {variables['server_uuid']}"
    return f"server_id {variables.get('server_id')}, gtid_domain_id {variables.get('gtid_domain_id', 0)}"


def check_server(engine: sa.Engine, table: str) -> dict[str, pa.DataType | None]:
    """The table's columns and their Arrow types, once the server is known to log every row change; else a
    `BinlogError` saying why."""
    with engine.connect() as connection:
        variables = dict(
            connection.exec_driver_sql(
                "show global variables where variable_name in ('log_bin', 'binlog_format', 'binlog_row_image')"
            ).fetchall()
        )
        if variables.get("log_bin", "OFF").upper() != "ON":
            raise BinlogError(
                "the orders database has its binary log off (log_bin=OFF): start the server with "
                "--log-bin --binlog-format=ROW --server-id=<n>, or set ORDERS_CAPTURE=timestamp"
            )
        if variables.get("binlog_format", "").upper() != "ROW":
            raise BinlogError(
                f"the orders database logs changes as {variables.get('binlog_format')}, not ROW: set "
                "binlog_format=ROW on the server (SET GLOBAL binlog_format = 'ROW' and in its config), "
                "or set ORDERS_CAPTURE=timestamp"
            )
        if variables.get("binlog_row_image", "FULL").upper() != "FULL":
            raise BinlogError(
                f"the orders database logs {variables['binlog_row_image']} row images, not FULL: set "
                "binlog_row_image=FULL, so that every change carries the whole row before and after"
            )
        try:
            connection.exec_driver_sql("show binary logs").fetchall()
        except sa.exc.SQLAlchemyError as error:
            raise BinlogError(
                f"the orders database user cannot read the binary log ({first_line(error)}): grant it "
                "REPLICATION SLAVE, REPLICATION CLIENT (and SELECT on the table)"
            ) from None
        columns = {column["name"]: arrow_type(column["type"]) for column in sa.inspect(connection).get_columns(table)}
    if missing := [name for name in KEY_COLUMNS if name not in columns]:
        raise BinlogError(
            f"table {table} has no column {', '.join(missing)} now (its columns: {', '.join(columns)}); the order "
            f"models read {', '.join(KEY_COLUMNS)}: name it so again, then take a new snapshot with `python -m "
            "ingestion run --source orders --full-refresh`"
        )
    return columns


def _snapshot(engine: sa.Engine, table: str, batches: ChangeBatches) -> Iterator[pa.Table]:
    """The table's rows in one consistent snapshot, and the binlog position it was taken at.

    MariaDB tells the position of a consistent snapshot itself (`binlog_snapshot_file`); MySQL
    needs the tables locked for the instant it takes to start the snapshot and read the position.
    """
    connection = _connect(engine, cursor=pymysql.cursors.SSCursor)  # rows streamed, as tuples
    try:
        with connection.cursor() as cursor:
            cursor.execute("show status like 'binlog_snapshot_%%'")
            mariadb = bool(cursor.fetchall())
            if mariadb:
                cursor.execute("start transaction with consistent snapshot")
                cursor.execute("show status like 'binlog_snapshot_%%'")
                status = dict(cursor.fetchall())
                position = {"file": status["Binlog_snapshot_file"], "pos": int(status["Binlog_snapshot_position"])}
                # the same place as a GTID position, which a replica's log holds too
                cursor.execute("select binlog_gtid_pos(%s, %s)", (position["file"], position["pos"]))
                [(gtid,)] = cursor.fetchall()  # (the cursor streams: a result is read to its end before the next)
                position["gtid"] = gtid or ""
            else:
                cursor.execute("flush tables with read lock")
                cursor.execute("start transaction with consistent snapshot")
                cursor.execute("show master status")
                [(file, offset, *_)] = cursor.fetchall()
                position = {"file": file, "pos": int(offset)}
                cursor.execute("unlock tables")
            taken_at = batches.newest_event = datetime.now(UTC)  # the snapshot holds every change up to now
            cursor.execute(f"select * from `{table}`")
            names, number = [column[0] for column in cursor.description], 0
            while rows := cursor.fetchmany(batches.size):
                yield batches.rows("snapshot", names, rows, position, number, taken_at)
                number += len(rows)
        connection.commit()
    finally:
        connection.close()
    return position


def _stream(engine: sa.Engine, table: str, batches: ChangeBatches, position: dict) -> Iterator[pa.Table]:
    """The changes logged since `position`, up to the log's current end; returns the position after them."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import MariadbGtidEvent, QueryEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    url = engine.url
    stream = BinLogStreamReader(
        connection_settings={
            "host": url.host or "127.0.0.1",
            "port": url.port or 3306,
            "user": url.username or "",
            "password": url.password or "",  # decoded by SQLAlchemy already
        },
        server_id=SERVER_ID,
        log_file=position["file"],
        log_pos=position["pos"],
        resume_stream=True,
        blocking=False,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, MariadbGtidEvent, QueryEvent],
        only_schemas=[url.database],
        only_tables=[table],
        # The classic dump from a file and offset, which MariaDB serves too, with its GTID events; its own dump
        # from a GTID position starts the whole read again each time the server drops the connection.
        is_mariadb=False,
        enable_logging=False,
    )
    columns = list(batches.columns)
    # MariaDB: the last transaction read in each GTID domain; with `skip`, those up to the saved one are not read
    gtids = dict(gtid_items(position.get("gtid") or ""))
    captured = {domain: int(gtid.rsplit("-", 1)[1]) for domain, gtid in gtids.items()} if position.get("skip") else {}
    skipping = False
    try:
        for event in stream:
            if isinstance(event, MariadbGtidEvent):  # every transaction's, whichever table it changes
                gtids[f"{event.domain_id}"] = event.gtid
                skipping = event.gtid_seq_no <= captured.get(f"{event.domain_id}", -1)
                continue
            if skipping:
                continue
            if isinstance(event, QueryEvent):
                check_not_replaced(event, url.database, table, stream.log_file)
                continue
            at = datetime.fromtimestamp(event.timestamp, UTC)
            where = {"file": stream.log_file, "pos": event.packet.log_pos}
            for number, row in enumerate(event.rows):
                if isinstance(event, WriteRowsEvent):
                    change = ("insert", None, _named(row["values"], columns))
                elif isinstance(event, DeleteRowsEvent):
                    change = ("delete", _named(row["values"], columns), None)
                else:
                    change = ("update", _named(row["before_values"], columns), _named(row["after_values"], columns))
                if (batch := batches.add(*change, where, number, at)) is not None:
                    yield batch
        if (batch := batches.flush()) is not None:
            yield batch
        after = {"file": stream.log_file or position["file"], "pos": stream.log_pos or position["pos"]}
        return after | ({"gtid": ",".join(gtids[domain] for domain in sorted(gtids, key=int))} if gtids else {})
    finally:
        stream.close()


def _named(values: dict, columns: list[str]) -> dict:
    """A row image with the table's column names. Without `binlog_row_metadata=FULL` the log names them
    UNKNOWN_COL0, 1, …: they are then the table's columns in order, which must match in number."""
    if not next(iter(values), "").startswith("UNKNOWN_COL"):
        return values
    if len(values) != len(columns):
        raise BinlogError(
            f"a change in the binary log has {len(values)} columns and the table now has {len(columns)}, and the "
            "log does not name them: take a new snapshot (`python -m ingestion run --source orders "
            "--full-refresh`), and set binlog_row_metadata=FULL on the server so that later column changes need none"
        )
    return dict(zip(columns, values.values(), strict=True))  # UNKNOWN_COL0, 1, … come in that order


def _check_not_purged(engine: sa.Engine, position: dict) -> None:
    with engine.connect() as connection:
        files = [row[0] for row in connection.exec_driver_sql("show binary logs").fetchall()]
    if position["file"] not in files:
        raise BinlogError(
            f"the binary log file {position['file']} this capture stopped at is no longer on the server "
            f"(purged; it has {files[0] if files else 'none'} onwards): changes in between are lost to the "
            "log. Take a new snapshot: `python -m ingestion run --source orders --full-refresh`"
        )


def _connect(engine: sa.Engine, cursor: type) -> pymysql.Connection:
    url = engine.url
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "",
        password=url.password or "",
        database=url.database,
        cursorclass=cursor,
        connect_timeout=5,
    )
