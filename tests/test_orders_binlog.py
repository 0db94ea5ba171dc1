"""ORDERS_CAPTURE=binlog: every change to `Orders` from the binary log, deletes and in-place updates included.

Against a throwaway MariaDB that logs in ROW format. The order models built from the changes must
equal what the timestamp mode builds from a full read of the table's final rows.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import duckdb
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import orders_binlog
from sandbox import orders_db as shop
from tests.conftest import _throwaway_mariadb, fresh_database
from tests.readers import rows_read
from tests.workspace import Workspace

pytestmark = pytest.mark.binlog

ORDER_COLUMNS = "order_id, order_status, last_updated_at"
HISTORY_COLUMNS = "order_id, order_status, valid_from, valid_to, is_current"
ORDER_MODELS = ("-s", "+orders", "+order_status_history")


def source(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    shop.orders_table().create(engine, checkfirst=True)
    return engine


def execute(engine: sa.Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def purge_binary_logs(engine: sa.Engine, within: float = 60.0) -> None:
    """Every binary log but the newest purged. MariaDB keeps a log, silently, until InnoDB has made its
    transactions durable (the log's checkpoint event, written in the background), so the purge is repeated
    until it has taken effect."""
    deadline = time.monotonic() + within
    while True:
        with engine.connect() as connection:
            logs = [row[0] for row in connection.exec_driver_sql("show binary logs").fetchall()]
            if len(logs) == 1:
                return
            assert time.monotonic() < deadline, f"the server kept {logs[:-1]} after {within} s of purges"
            connection.exec_driver_sql(f"purge binary logs to '{logs[-1]}'")
            time.sleep(0.1)


def binlog_workspace(folder, url: str) -> Workspace:
    return Workspace(folder, ORDERS_DB_URL=url, ORDERS_CAPTURE="binlog")


def ingest(workspace: Workspace, *arguments: str) -> None:
    result = workspace.cli("ingestion", "run", "--source", "orders", *arguments)
    assert result.returncode == 0, result.stderr[-3000:]


def models(workspace: Workspace) -> tuple[list, list]:
    workspace.dbt("build", *ORDER_MODELS)
    return (
        workspace.query(f"select {ORDER_COLUMNS} from orders order by all"),
        workspace.query(f"select {HISTORY_COLUMNS} from order_status_history order by all"),
    )


def full_build_of_the_final_rows(folder, url: str) -> tuple[list, list]:
    """The timestamp mode's models after one full read of the table as it is now."""
    workspace = Workspace(folder, ORDERS_DB_URL=url, ORDERS_CAPTURE="timestamp")
    ingest(workspace)
    return models(workspace)


def operations(workspace: Workspace) -> list[tuple]:
    """The changes in raw.orders_changes, in log order."""
    wanted = ("operation", "before__order_id", "before__order_status", "after__order_id", "after__order_status")
    with duckdb.connect(str(workspace.settings.warehouse_path), read_only=True) as warehouse:
        cursor = warehouse.execute(
            "select * from raw.orders_changes order by binlog_file, binlog_position, row_in_event"
        )
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return [tuple(row.get(name) for name in wanted) for row in rows]


def test_every_change_lands_unchanged_and_the_models_equal_a_full_build_of_the_final_rows(tmp_path, binlog_url):
    engine = source(binlog_url)
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": order, "OrderStatus": status, "LastUpdated": at} for order, status, at in shop.BOOK_ROWS],
        )
    workspace = binlog_workspace(tmp_path / "binlog", binlog_url)
    ingest(workspace)
    execute(
        engine,
        "insert into Orders values (4, 'Backordered', '2020-07-20 09:00:00')",
        # in place: LastUpdated does not move, so a timestamp extraction never sees it
        "update Orders set OrderStatus = 'Pending' where OrderId = 2",
        "update Orders set OrderStatus = 'Shipped', LastUpdated = '2020-07-22 10:00:00' where OrderId = 4",
        "delete from Orders where OrderId = 3",
    )
    with engine.connect() as connection:  # a transaction rolled back never reaches the log
        connection.exec_driver_sql("insert into Orders values (5, 'Pending', '2020-07-23 00:00:00')")
        connection.rollback()
    ingest(workspace)
    ingest(workspace)  # nothing new: nothing lands

    assert operations(workspace) == [
        *[("snapshot", None, None, order, status) for order, status, _ in shop.BOOK_ROWS],
        ("insert", None, None, 4, "Backordered"),
        ("update", 2, "Shipped", 2, "Pending"),
        ("update", 4, "Backordered", 4, "Shipped"),
        ("delete", 3, "Shipped", None, None),
    ]
    orders, history = models(workspace)
    assert (orders, history) == full_build_of_the_final_rows(tmp_path / "timestamp", binlog_url)
    assert [order for order, _, _ in orders] == [1, 2, 4], "order 3 was deleted from the source"
    assert (2, "Pending") in [(order, status) for order, status, _ in orders]


def test_one_snapshot_and_one_read_of_the_log_serve_both_destinations(tmp_path, binlog_url):
    engine = source(binlog_url)
    seeded = shop.seed(engine, orders=40)
    before = rows_read(binlog_url)
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    read_by_the_snapshot = rows_read(binlog_url) - before
    execute(
        engine, "update Orders set LastUpdated = LastUpdated + interval 1 second limit 7", "delete from Orders limit 3"
    )
    ingest(workspace)

    assert read_by_the_snapshot == seeded, "one read of the table for both destinations"
    lake = duckdb.sql(
        f"select operation, count(*) from '{workspace.settings.lake_url}/raw/orders_changes/*.parquet' "
        "group by all order by all"
    ).fetchall()
    warehouse = workspace.query("select operation, count(*) from raw.orders_changes group by all order by all")
    assert warehouse == lake == [("delete", 3), ("snapshot", seeded), ("update", 7)]


def test_a_change_during_the_snapshot_is_neither_lost_nor_doubled(tmp_path, binlog_url, monkeypatch):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    execute(engine, "insert into Orders values (2, 'Pending', '2020-06-02 12:00:00')")
    snapshot = orders_binlog._snapshot

    def snapshot_with_a_change_midway(*arguments):
        rows = snapshot(*arguments)
        first = next(rows)
        execute(engine, "update Orders set OrderStatus = 'Shipped' where OrderId = 2")  # after the snapshot began
        yield first
        return (yield from rows)

    monkeypatch.setattr(orders_binlog, "_snapshot", snapshot_with_a_change_midway)
    workspace = binlog_workspace(tmp_path / "binlog", binlog_url)
    workspace.ingest("orders")

    assert operations(workspace) == [
        ("snapshot", None, None, 1, "Pending"),
        ("snapshot", None, None, 2, "Pending"),
        ("update", 2, "Pending", 2, "Shipped"),
    ]


@pytest.mark.parametrize("step", ["during-extract", "between-package-and-state", "during-load-into-lake"])
def test_a_run_killed_mid_capture_is_completed_by_the_next_without_doubles(tmp_path, binlog_url, step):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    execute(engine, "update Orders set OrderStatus = 'Shipped' where OrderId = 1", "delete from Orders")

    killed = workspace.cli("tests.faults", step, "--source", "orders")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    ingest(workspace)
    ingest(workspace)

    assert operations(workspace) == [
        ("snapshot", None, None, 1, "Pending"),
        ("update", 1, "Pending", 1, "Shipped"),
        ("delete", 1, "Shipped", None, None),
    ]


def test_a_column_added_to_the_source_table_is_followed_by_the_raw_table(tmp_path, binlog_url):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    execute(
        engine,
        "alter table Orders add column Channel varchar(10)",
        "insert into Orders values (2, 'Pending', '2020-06-02 12:00:00', 'web')",
    )
    ingest(workspace)

    assert workspace.query("select after__order_id, after__channel from raw.orders_changes order by all") == [
        (1, None),
        (2, "web"),
    ]


@pytest.mark.parametrize(
    "statements",
    [
        ["truncate table Orders"],
        ["drop table Orders", "create table Orders like Orders_new"],
        ["rename table Orders to Orders_old, Orders_new to Orders"],
    ],
    ids=["truncated", "dropped-and-created", "swapped"],
)
def test_a_table_emptied_or_replaced_in_the_log_stops_with_one_line_until_a_new_snapshot(
    tmp_path, binlog_url, statements
):
    """The log holds no delete for the rows these remove: replaying it would keep them."""
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    execute(
        engine,
        "create table Orders_new like Orders",
        "insert into Orders_new values (2, 'Pending', '2020-06-02 12:00:00')",
        "update Orders set OrderStatus = 'Shipped'",
        *statements,
        "insert into Orders values (3, 'Pending', '2020-06-03 12:00:00')",
    )

    stopped = workspace.cli("ingestion", "run", "--source", "orders")
    ingest(workspace, "--full-refresh")

    assert stopped.returncode == 1
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--full-refresh" in errors[0] and "Orders" in errors[0], stopped.stderr
    with engine.connect() as connection:
        now_in_the_table = connection.exec_driver_sql("select OrderId, OrderStatus from Orders order by 1").fetchall()
    assert [(order, status) for _, _, _, order, status in operations(workspace)] == [
        tuple(row) for row in now_in_the_table
    ]
    assert models(workspace) == full_build_of_the_final_rows(tmp_path / "timestamp", binlog_url)


def test_a_column_the_models_read_renamed_stops_with_one_line_and_a_widened_one_lands(tmp_path, binlog_url):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    longer = "Awaiting a carrier, with a status longer than 30 characters"
    execute(
        engine,
        "alter table Orders modify OrderStatus varchar(64) not null",
        f"insert into Orders values (2, '{longer}', now())",
    )
    ingest(workspace)
    widened = models(workspace), full_build_of_the_final_rows(tmp_path / "timestamp", binlog_url)
    execute(engine, "alter table Orders change OrderStatus Status varchar(64) not null")
    stopped = workspace.cli("ingestion", "run", "--source", "orders")

    assert ("insert", None, None, 2, longer) in operations(workspace)
    assert widened[0] == widened[1]
    assert stopped.returncode == 1
    [error] = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert "OrderStatus" in error and "Status" in error and "--full-refresh" in error, error


def drop_a_column_mid_log(engine: sa.Engine, workspace: Workspace) -> None:
    """A snapshot with a column the models do not read, then a change logged while the table had it,
    then the column dropped and a change after that, all in the log the next capture reads."""
    execute(
        engine,
        "alter table Orders add column Note varchar(10)",
        "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00', 'gift')",
    )
    ingest(workspace)
    execute(
        engine,
        "insert into Orders values (2, 'Pending', '2020-06-02 12:00:00', 'rush')",
        "alter table Orders drop column Note",
        "insert into Orders values (3, 'Pending', '2020-06-03 12:00:00')",
    )


def test_a_column_dropped_mid_log_without_column_names_in_it_stops_with_one_line_until_a_new_snapshot(
    tmp_path, binlog_url
):
    """MariaDB's default `binlog_row_metadata` logs no column names: the change logged before the drop
    has a value more than the table, and which column lost it only a new snapshot can tell. Setting
    binlog_row_metadata=FULL cannot name the columns of changes already logged."""
    engine = source(binlog_url)
    workspace = binlog_workspace(tmp_path, binlog_url)
    drop_a_column_mid_log(engine, workspace)

    stopped = workspace.cli("ingestion", "run", "--source", "orders")
    ingest(workspace, "--full-refresh")

    assert stopped.returncode == 1
    [error] = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert "--full-refresh" in error and "binlog_row_metadata=FULL" in error, error
    assert models(workspace) == full_build_of_the_final_rows(tmp_path / "timestamp", binlog_url)


@pytest.fixture
def column_names_in_the_log(binlog_server: str) -> Iterator[None]:
    """binlog_row_metadata=FULL on the binlog server for one test: each change names its columns."""
    server = sa.create_engine(binlog_server)
    execute(server, "set global binlog_row_metadata = FULL")
    try:
        yield
    finally:
        execute(server, "set global binlog_row_metadata = NO_LOG")
        server.dispose()


def test_a_column_dropped_mid_log_with_column_names_in_it_keeps_its_values_in_raw(
    tmp_path, binlog_url, column_names_in_the_log
):
    engine = source(binlog_url)
    workspace = binlog_workspace(tmp_path, binlog_url)
    drop_a_column_mid_log(engine, workspace)

    ingest(workspace)

    assert workspace.query("select after__order_id, after__note from raw.orders_changes order by all") == [
        (1, "gift"),
        (2, "rush"),
        (3, None),
    ]
    assert models(workspace) == full_build_of_the_final_rows(tmp_path / "timestamp", binlog_url)


def test_a_purged_position_stops_with_one_line_saying_to_take_a_new_snapshot(tmp_path, binlog_url):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    execute(engine, "flush binary logs", "update Orders set OrderStatus = 'Shipped'", "flush binary logs")
    purge_binary_logs(engine)

    stopped = workspace.cli("ingestion", "run", "--source", "orders")
    ingest(workspace, "--full-refresh")

    assert stopped.returncode == 1
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert [line.split(":")[1] for line in errors] == [" orders -> warehouse, lake"]  # once, for both destinations
    assert all("is no longer on the server (purged" in line and "--full-refresh" in line for line in errors)
    assert operations(workspace) == [("snapshot", None, None, 1, "Shipped")]


def test_a_capture_pointed_at_another_server_stops_with_one_line_until_a_new_snapshot(tmp_path, binlog_url):
    """A binlog position means nothing in another server's log: going on from it would skip or repeat changes."""
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    other_server = ("--log-bin=binlog", "--binlog-format=ROW", "--server-id=8")
    with _throwaway_mariadb(tmp_path / "other-server", *other_server) as other:
        other_url = next(databases := fresh_database(other))
        execute(source(other_url), "insert into Orders values (2, 'Pending', '2020-06-02 12:00:00')")
        workspace = binlog_workspace(tmp_path / "project", binlog_url)
        ingest(workspace)
        moved = Workspace(tmp_path / "project", ORDERS_DB_URL=other_url, ORDERS_CAPTURE="binlog")

        stopped = moved.cli("ingestion", "run", "--source", "orders")
        ingest(moved, "--full-refresh")
        databases.close()

    assert stopped.returncode == 1
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: orders -> warehouse, lake: "), stopped.stderr
    assert "server_id 7" in errors[0] and "server_id 8" in errors[0] and "--full-refresh" in errors[0]
    assert operations(moved) == [("snapshot", None, None, 2, "Pending")]


def test_after_a_failover_the_capture_goes_on_from_the_replica_by_gtid(tmp_path):
    """A primary and a replica of it by GTID: captured from the primary, then from the replica, no change lost
    or doubled, and the models equal the replica's table."""
    primary_options = ("--log-bin=binlog", "--binlog-format=ROW", "--server-id=11")
    replica_options = ("--log-bin=binlog", "--binlog-format=ROW", "--server-id=12", "--log-slave-updates")
    with (
        _throwaway_mariadb(tmp_path / "primary", *primary_options) as primary,
        _throwaway_mariadb(tmp_path / "replica", *replica_options) as replica,
    ):
        port = sa.make_url(primary).port
        execute(
            sa.create_engine(replica),
            f"change master to master_host = '127.0.0.1', master_port = {port}, master_user = 'root', "
            "master_use_gtid = slave_pos",
            "start slave",
        )
        execute(sa.create_engine(primary), "create database shop")
        engine = source(f"{primary}/shop")
        seeded = shop.seed(engine, orders=20)
        workspace = binlog_workspace(tmp_path / "project", f"{primary}/shop")
        ingest(workspace)
        execute(engine, "update Orders set OrderStatus = 'Shipped' where OrderId <= 5", "delete from Orders limit 4")
        ingest(workspace)
        # changes the primary logs before it fails, which its replica has (and the capture has not yet)
        execute(
            engine, "insert into Orders values (99, 'Pending', '2020-08-01 00:00:00')", "delete from Orders limit 2"
        )
        with engine.connect() as connection:
            logged = connection.exec_driver_sql("select @@gtid_binlog_pos").scalar()
        with sa.create_engine(replica).connect() as connection:
            assert connection.exec_driver_sql("select master_gtid_wait(%s, 30)", (logged,)).scalar() == 0
            connection.exec_driver_sql("stop slave")

        failed_over = binlog_workspace(tmp_path / "project", f"{replica}/shop")
        ingest(failed_over)
        ingest(failed_over)  # nothing new: nothing lands

        changes = dict(failed_over.query("select operation, count(*) from raw.orders_changes group by all"))
        orders, history = models(failed_over)
        expected = full_build_of_the_final_rows(tmp_path / "timestamp", f"{replica}/shop")
    assert changes["update"] > 0
    assert changes == {"snapshot": seeded, "update": changes["update"], "delete": 6, "insert": 1}
    assert (orders, history) == expected


def test_status_shows_how_far_behind_the_log_each_destinations_capture_is(tmp_path, binlog_url):
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2020-06-01 12:00:00')")
    workspace = binlog_workspace(tmp_path, binlog_url)
    ingest(workspace)
    caught_up = capture_lines(workspace)
    execute(engine, "update Orders set OrderStatus = 'Shipped'", "insert into Orders values (2, 'New', now())")
    with engine.connect() as connection:
        file, end = connection.exec_driver_sql("show master status").fetchone()[:2]
    behind = capture_lines(workspace)

    caught_up_lines = ["capture      warehouse 0 bytes behind", "lake 0 bytes behind"]
    assert [text.split(",")[0] for text in caught_up] == caught_up_lines
    assert all(f"the log ends at {file}:{end}" in text for text in behind), behind
    assert all(" 0 bytes behind" not in text for text in behind), behind
    assert all("; its changes since 20" in text and "are not captured yet" in text for text in behind), behind
    ingest(workspace)
    assert [text.split(",")[0] for text in capture_lines(workspace)] == caught_up_lines


def capture_lines(workspace: Workspace) -> list[str]:
    shown = workspace.cli("ingestion", "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = next(number for number, text in enumerate(lines) if text.strip().startswith("capture"))
    return [text.strip() for text in lines[start : start + 2]]


def test_a_server_without_the_binary_log_says_so_in_one_line(tmp_path, mysql_url):
    source(mysql_url)
    workspace = binlog_workspace(tmp_path, mysql_url)
    with sa.create_engine(mysql_url).connect() as connection:
        if connection.exec_driver_sql("select @@log_bin").scalar():
            pytest.fail("this test needs a server with the binary log off (the machine's MariaDB)")

    result = workspace.cli("ingestion", "run", "--source", "orders")

    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "binary log off (log_bin=OFF)" in error and "ORDERS_CAPTURE=timestamp" in error


CHANGES = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(1, 4), st.sampled_from(["Pending", "Shipped"]), st.integers(0, 5)),
        st.tuples(st.just("update"), st.integers(1, 4), st.sampled_from(["Backordered", "Delivered"]), st.booleans()),
        st.tuples(st.just("delete"), st.integers(1, 4)),
        st.just(("run",)),
    ),
    max_size=12,
)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES)
def test_after_any_changes_the_models_equal_a_full_build_of_the_final_rows(tmp_path_factory, binlog_server, changes):
    with contextmanager(fresh_database)(binlog_server) as url:
        models_from_changes, from_final_rows = _run_changes(url, tmp_path_factory.mktemp("binlog-property"), changes)

    assert models_from_changes == from_final_rows


def _run_changes(url: str, folder, changes: list[tuple]) -> tuple:
    engine = source(url)
    workspace = binlog_workspace(folder / "binlog", url)
    ingest(workspace)
    start = datetime(2020, 6, 1)
    for change in changes:
        if change[0] == "insert":
            _, order, status, day = change
            execute(engine, f"insert into Orders values ({order}, '{status}', '{start + timedelta(days=day)}')")
        elif change[0] == "update":
            _, order, status, moves_time = change
            moved = ", LastUpdated = LastUpdated + interval 1 hour" if moves_time else ""
            execute(engine, f"update Orders set OrderStatus = '{status}'{moved} where OrderId = {order} limit 1")
        elif change[0] == "delete":
            execute(engine, f"delete from Orders where OrderId = {change[1]} limit 1")
        else:
            ingest(workspace)
    ingest(workspace)
    return models(workspace), full_build_of_the_final_rows(folder / "timestamp", url)


def test_a_user_without_replication_privileges_is_told_which_to_grant(tmp_path, binlog_url):
    engine = source(binlog_url)
    database = sa.make_url(binlog_url).database
    user = f"reader_{database[-8:]}"
    execute(
        engine,
        f"create user '{user}'@'127.0.0.1' identified by 'secret'",
        f"grant select on {database}.* to '{user}'@'127.0.0.1'",
    )
    try:
        limited = sa.make_url(binlog_url).set(username=user, password="secret")
        workspace = binlog_workspace(tmp_path, limited.render_as_string(hide_password=False))

        result = workspace.cli("ingestion", "run", "--source", "orders")
    finally:
        execute(engine, f"drop user '{user}'@'127.0.0.1'")

    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "cannot read the binary log" in error and "REPLICATION SLAVE, REPLICATION CLIENT" in error
    assert "secret" not in result.stderr


def test_a_password_with_every_reserved_character_connects_as_sqlalchemy_decodes_it(tmp_path, binlog_url):
    """`%41` in the password is three characters, not an escape to decode a second time."""
    engine = source(binlog_url)
    execute(engine, "insert into Orders values (1, 'Pending', '2021-01-01 00:00:00')")
    database = sa.make_url(binlog_url).database
    user, password = f"capture_{database[-8:]}", "p%41ss/#?@:;&= 'word"
    with engine.begin() as connection:  # the driver quotes the password (and leaves its % alone)
        connection.exec_driver_sql("create user %s@'127.0.0.1' identified by %s", (user, password))
    execute(
        engine,
        f"grant select on {database}.* to '{user}'@'127.0.0.1'",
        f"grant replication slave, replication client on *.* to '{user}'@'127.0.0.1'",
    )
    try:
        url = sa.make_url(binlog_url).set(username=user, password=password)
        workspace = binlog_workspace(tmp_path, url.render_as_string(hide_password=False))
        ingest(workspace)
        execute(engine, "update Orders set OrderStatus = 'Shipped'")
        ingest(workspace)
    finally:
        execute(engine, f"drop user '{user}'@'127.0.0.1'")

    assert [operation for operation, *_ in operations(workspace)][-1] == "update"
