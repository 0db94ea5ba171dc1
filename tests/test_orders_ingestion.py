"""Loading `Orders`: every source row once, in both destinations, incrementally on `LastUpdated`."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from ingestion import loaders
from sandbox import orders_db as shop
from tests.readers import in_order, lake_rows, rows_read, warehouse_rows
from tests.workspace import Workspace, run_with_sandboxes

COLUMNS = ["order_id", "order_status", "last_updated"]


@pytest.fixture(params=["sqlite", "mariadb"])
def orders_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The orders database: the embedded default's SQLite, and a real MariaDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.sqlite'}"
    return request.getfixturevalue("mysql_url")


@pytest.fixture
def engine(orders_url: str):
    engine = sa.create_engine(orders_url)
    yield engine
    engine.dispose()


def source_rows(engine: sa.Engine) -> list[tuple]:
    table = sa.Table("Orders", sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.OrderId, table.c.OrderStatus, table.c.LastUpdated)).fetchall()
    return in_order(tuple(row) for row in rows)


def insert(engine: sa.Engine, *rows: tuple[int, str, datetime]) -> None:
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": order, "OrderStatus": status, "LastUpdated": updated} for order, status, updated in rows],
        )


def loaded(settings) -> tuple[list[tuple], list[tuple]]:
    return warehouse_rows(settings, "orders", COLUMNS), lake_rows(settings, "orders", COLUMNS)


def books_table(engine: sa.Engine) -> None:
    shop.orders_table().create(engine)
    insert(engine, *shop.BOOK_ROWS)


def test_the_books_five_rows_land_exactly(project, orders_url, engine):
    books_table(engine)
    settings = project(ORDERS_DB_URL=orders_url)

    report = run_with_sandboxes(settings, ("orders",))

    assert report.ok, report.errors
    assert report.rows == {("orders", "warehouse"): 5, ("orders", "lake"): 5}
    assert source_rows(engine) == sorted(shop.BOOK_ROWS)
    assert loaded(settings) == (sorted(shop.BOOK_ROWS), sorted(shop.BOOK_ROWS))


def test_both_destinations_get_their_rows_from_one_read_of_the_table(project, mysql_url):
    engine = sa.create_engine(mysql_url)
    shop.seed(engine, orders=40)
    rows_read(mysql_url)  # the server counts reads from now on
    settings = project(ORDERS_DB_URL=mysql_url)

    before = rows_read(mysql_url)
    run_with_sandboxes(settings, ("orders",))
    read_by_the_run = rows_read(mysql_url) - before

    source = source_rows(engine)
    assert loaded(settings) == (source, source)
    # one read for both destinations, and the count per day that checks for rows the look-back missed
    assert read_by_the_run == 2 * len(source)
    engine.dispose()


def test_a_second_run_without_source_changes_adds_no_rows(project, orders_url, engine):
    shop.seed(engine)
    settings = project(ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings, ("orders",))

    report = run_with_sandboxes(settings, ("orders",))

    assert report.rows == {("orders", "warehouse"): 0, ("orders", "lake"): 0}
    assert loaded(settings) == (source_rows(engine), source_rows(engine))


def test_after_the_shop_moves_on_exactly_the_new_rows_are_added(project, orders_url, engine):
    """New orders, status changes, a row committed late and rows tied on one timestamp."""
    shop.seed(engine)
    settings = project(ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings, ("orders",))

    for _ in range(3):
        step = shop.advance(engine)
        report = run_with_sandboxes(settings, ("orders",))
        assert report.rows == {("orders", "warehouse"): step.rows, ("orders", "lake"): step.rows}
        assert loaded(settings) == (source_rows(engine), source_rows(engine))


def test_a_row_on_the_newest_loaded_timestamp_is_not_lost(project, orders_url, engine):
    books_table(engine)
    settings = project(ORDERS_DB_URL=orders_url, ORDERS_LOOKBACK_SECONDS="0")
    run_with_sandboxes(settings, ("orders",))

    newest = max(updated for _, _, updated in shop.BOOK_ROWS)
    insert(engine, (4, "Pending", newest), (5, "Pending", newest))
    run_with_sandboxes(settings, ("orders",))

    assert loaded(settings) == (source_rows(engine), source_rows(engine))
    assert len(source_rows(engine)) == 7


def test_a_row_committed_late_is_caught_inside_the_lookback_window(project, orders_url, engine):
    books_table(engine)
    settings = project(ORDERS_DB_URL=orders_url, ORDERS_LOOKBACK_SECONDS="3600")
    run_with_sandboxes(settings, ("orders",))

    newest = max(updated for _, _, updated in shop.BOOK_ROWS)
    insert(engine, (2, "Delivered", newest - timedelta(minutes=20)))
    report = run_with_sandboxes(settings, ("orders",))

    assert report.rows[("orders", "warehouse")] == 1
    assert loaded(settings) == (source_rows(engine), source_rows(engine))


def test_a_row_committed_later_than_the_lookback_waits_for_a_full_refresh(project, orders_url, engine):
    books_table(engine)
    settings = project(ORDERS_DB_URL=orders_url, ORDERS_LOOKBACK_SECONDS="600")
    run_with_sandboxes(settings, ("orders",))
    newest = max(updated for _, _, updated in shop.BOOK_ROWS)
    insert(engine, (2, "Delivered", newest - timedelta(hours=2)))

    missed = run_with_sandboxes(settings, ("orders",))
    assert loaded(settings)[0] == sorted(shop.BOOK_ROWS)
    [warning] = missed.warnings
    assert "1 source rows are not in the warehouse" in warning and "2020-07-12 (1)" in warning
    assert "--full-refresh" in warning and "ORDERS_LOOKBACK_SECONDS" in warning

    report = run_with_sandboxes(settings, ("orders",), full_refresh=True)
    assert report.rows == {("orders", "warehouse"): 6, ("orders", "lake"): 6}
    assert loaded(settings) == (source_rows(engine), source_rows(engine))
    assert report.warnings == []


def test_an_order_dated_in_the_future_is_loaded_named_and_later_rows_keep_loading(project, orders_url, engine):
    """One row dated 2099 once moved the cursor there, and every later row fell before the window."""
    books_table(engine)
    settings = project(ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings, ("orders",))
    newest = max(updated for _, _, updated in shop.BOOK_ROWS)

    insert(engine, (6, "Pending", datetime(2099, 1, 1)))
    report = run_with_sandboxes(settings, ("orders",))
    assert report.rows == {("orders", "warehouse"): 1, ("orders", "lake"): 1}
    [warning] = report.warnings
    assert "1 row(s) have a LastUpdated more than 1 day after the source database's clock" in warning
    assert "OrderId 6 at 2099-01-01 00:00:00" in warning

    for minutes in (10, 20, 30):
        insert(engine, (7, "Shipped", newest + timedelta(minutes=minutes)))
        report = run_with_sandboxes(settings, ("orders",))
        assert report.rows == {("orders", "warehouse"): 1, ("orders", "lake"): 1}
        assert report.warnings == []
    assert loaded(settings) == (source_rows(engine), source_rows(engine))
    assert len(source_rows(engine)) == 9


def test_identical_source_rows_are_all_kept_and_a_late_twin_is_added(project, orders_url, engine):
    """The source has no key; de-duplicating identical rows is dbt's job, not the loader's."""
    books_table(engine)
    twin = shop.BOOK_ROWS[4]  # the newest row, so a twin committed later is inside the look-back
    insert(engine, twin)
    settings = project(ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings, ("orders",))
    assert loaded(settings)[0].count(twin) == 2

    insert(engine, twin)
    run_with_sandboxes(settings, ("orders",))

    assert loaded(settings) == (source_rows(engine), source_rows(engine))
    assert loaded(settings)[0].count(twin) == 3


def test_full_refresh_replaces_raw_orders_with_the_source_as_it_is_now(project, orders_url, engine):
    shop.seed(engine)
    settings = project(ORDERS_DB_URL=orders_url)
    run_with_sandboxes(settings, ("orders",))
    with engine.begin() as connection:
        connection.exec_driver_sql("delete from Orders where OrderId = 1")

    report = run_with_sandboxes(settings, ("orders",), full_refresh=True)

    assert report.ok, report.errors
    assert loaded(settings) == (source_rows(engine), source_rows(engine))


def test_mysql_datetime_microseconds_land_as_the_same_instants(project, mysql_url):
    engine = sa.create_engine(mysql_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "create table Orders (OrderId int, OrderStatus varchar(30), LastUpdated datetime(6))"
        )
        connection.exec_driver_sql(
            "insert into Orders values (1, 'Shipped', '2020-06-09 12:00:25.123456'),"
            " (2, 'Shipped', '2020-07-11 03:05:00.000001'), (3, 'Pending', '1999-12-31 23:59:59.999999')"
        )
    settings = project(ORDERS_DB_URL=mysql_url)

    run_with_sandboxes(settings, ("orders",))

    expected = source_rows(engine)
    assert expected[0][2] == datetime(2020, 6, 9, 12, 0, 25, 123456)
    assert loaded(settings) == (expected, expected)
    engine.dispose()


def test_timestamp_columns_of_a_server_in_another_time_zone_land_as_their_utc_instants(project, berlin_url):
    """Read in the server's Europe/Berlin, times landed 1-2 h off, and the autumn change's repeated
    hour (02:30 CEST, then 02:30 CET) collapsed: the order's Shipped came after its Delivered."""
    engine = sa.create_engine(berlin_url, connect_args={"init_command": "set time_zone = '+00:00'"})
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "create table Orders (OrderId int, OrderStatus varchar(30), LastUpdated timestamp(6) null default null)"
        )
        connection.exec_driver_sql(
            "insert into Orders values (1, 'Pending', '2026-07-01 10:00:00'),"
            " (1, 'Shipped', '2026-10-25 00:30:00.000001'), (1, 'Delivered', '2026-10-25 01:30:00')"
        )
    settings = project(ORDERS_DB_URL=berlin_url)

    report = run_with_sandboxes(settings, ("orders",))

    assert report.ok, report.errors
    expected = [
        (1, "Delivered", datetime(2026, 10, 25, 1, 30)),
        (1, "Pending", datetime(2026, 7, 1, 10, 0)),
        (1, "Shipped", datetime(2026, 10, 25, 0, 30, 0, 1)),
    ]
    assert source_rows(engine) == expected
    assert loaded(settings) == (expected, expected)
    assert run_with_sandboxes(settings, ("orders",)).warnings == [], "the per-day check counts in UTC too"
    engine.dispose()


def test_a_column_whose_type_changes_is_refused_by_both_destinations_with_what_to_do(project, mysql_url):
    """`OrderId` became VARCHAR with `A-9003`: the lake took it, the warehouse refused it on every run."""
    engine = sa.create_engine(mysql_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("create table Orders (OrderId int, OrderStatus varchar(30), LastUpdated datetime)")
        connection.exec_driver_sql("insert into Orders values (1, 'Pending', '2020-01-01 10:00:00')")
    settings = project(ORDERS_DB_URL=mysql_url)
    assert run_with_sandboxes(settings, ("orders",)).ok
    with engine.begin() as connection:
        connection.exec_driver_sql("alter table Orders modify OrderId varchar(20)")
        connection.exec_driver_sql("insert into Orders values ('A-9003', 'Pending', '2020-01-01 11:00:00')")

    for _ in range(2):
        report = run_with_sandboxes(settings, ("orders",))
        assert [error.split(":")[0] for error in report.errors] == ["orders -> warehouse", "orders -> lake"]
        assert all("column order_id changed type" in error and "--full-refresh" in error for error in report.errors)
        assert not list(settings.pipelines_dir.rglob("failed_packages/*/*")), "nothing is called failed for good"
    assert loaded(settings) == ([(1, "Pending", datetime(2020, 1, 1, 10))],) * 2

    full = run_with_sandboxes(settings, ("orders",), full_refresh=True)
    assert full.ok, full.errors
    assert sorted(lake_rows(settings, "orders", ["order_id"])) == [("1",), ("A-9003",)]
    assert sorted(warehouse_rows(settings, "orders", ["order_id"])) == [("1",), ("A-9003",)]
    engine.dispose()


def test_an_unreachable_database_fails_with_one_line_naming_the_setting(project):
    closed_port = "mysql+pymysql://root@127.0.0.1:1/test"
    settings = project(ORDERS_DB_URL=closed_port)

    report = run_with_sandboxes(settings, ("orders",))

    [error] = report.errors
    assert "ORDERS_DB_URL" in error and "127.0.0.1:1" in error and "\n" not in error
    assert loaded(settings) == ([], [])


def test_a_missing_table_names_the_table_setting(project, orders_url):
    settings = project(ORDERS_DB_URL=orders_url, ORDERS_TABLE="Orderz")

    report = run_with_sandboxes(settings, ("orders",))

    [error] = report.errors
    assert "'Orderz' not found" in error and "ORDERS_TABLE" in error


def test_a_row_without_last_updated_lands_once_and_later_runs_go_on(project, orders_url, engine):
    books_table(engine)
    insert(engine, (9, "Pending", None))
    settings = project(ORDERS_DB_URL=orders_url)

    first = run_with_sandboxes(settings, ("orders",))
    insert(engine, (10, "Pending", max(updated for _, _, updated in shop.BOOK_ROWS) + timedelta(hours=1)))
    second = run_with_sandboxes(settings, ("orders",))

    assert first.ok and second.ok, first.errors + second.errors
    assert (9, "Pending", None) in source_rows(engine)
    assert loaded(settings) == (source_rows(engine), source_rows(engine))


def test_another_orders_source_stops_with_one_line_until_a_full_refresh(project, tmp_path):
    sandbox_shop, real_shop = (sa.create_engine(f"sqlite:///{tmp_path / name}") for name in ("sandbox.db", "real.db"))
    shop.seed(sandbox_shop, orders=20)
    books_table(real_shop)
    run_with_sandboxes(project(ORDERS_DB_URL=str(sandbox_shop.url)), ("orders",))
    settings = project(ORDERS_DB_URL=str(real_shop.url))

    switched = run_with_sandboxes(settings, ("orders",))

    assert len(switched.errors) == 2 and all("\n" not in error for error in switched.errors)
    assert "holds orders loaded from sqlite:///" in switched.errors[0] and "real.db table Orders" in switched.errors[0]
    assert "--full-refresh" in switched.errors[0]
    assert loaded(settings) == (source_rows(sandbox_shop), source_rows(sandbox_shop))
    # What the terminal shows: the one line, for both destinations, and no empty "Loaded" header.
    [said] = switched.summary().strip().splitlines()
    assert said.startswith("error: orders -> warehouse, lake: raw.orders holds orders loaded from sqlite:///")

    refreshed = run_with_sandboxes(settings, ("orders",), full_refresh=True)
    assert refreshed.ok, refreshed.errors
    assert loaded(settings) == (sorted(shop.BOOK_ROWS), sorted(shop.BOOK_ROWS))
    header, *rows = refreshed.summary().strip().splitlines()
    assert header == "Loaded (new rows; orders: the whole table, --full-refresh):"
    assert [row.split()[:4] for row in rows] == [["orders", "->", "warehouse", "5"], ["orders", "->", "lake", "5"]]


def test_a_renamed_or_retyped_last_updated_is_named_in_one_line(project, tmp_path):
    """The timestamp mode reads new rows by `LastUpdated`: without it, a run had ended in KeyError: 'LastUpdated'."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    books_table(engine)
    settings = project(ORDERS_DB_URL=str(engine.url))
    assert run_with_sandboxes(settings, ("orders",)).ok
    with engine.begin() as connection:
        connection.exec_driver_sql("alter table Orders rename column LastUpdated to UpdatedAt")

    renamed = run_with_sandboxes(settings, ("orders",))

    [error] = renamed.errors
    assert "has no column LastUpdated" in error and "UpdatedAt" in error and "\n" not in error

    with engine.begin() as connection:
        connection.exec_driver_sql("drop table Orders")
        connection.exec_driver_sql("create table Orders (OrderId integer, OrderStatus text, LastUpdated text)")
        connection.exec_driver_sql("insert into Orders values (9, 'Pending', 'yesterday')")
    retyped = run_with_sandboxes(settings, ("orders",), full_refresh=True)

    [error] = retyped.errors
    assert "LastUpdated" in error and "TEXT" in error and "not a date and time" in error
    assert loaded(settings)[0] == sorted(shop.BOOK_ROWS), "what was loaded stays"


def test_a_source_lost_after_the_load_costs_only_the_row_count_check_with_a_warning(project, tmp_path, monkeypatch):
    """The check after loading reads the source again: the database gone by then had ended in a traceback."""
    database = tmp_path / "shop.sqlite"
    engine = sa.create_engine(f"sqlite:///{database}")
    books_table(engine)
    engine.dispose()
    settings = project(ORDERS_DB_URL=f"sqlite:///{database}")
    check = loaders.rows_missing_by_day

    def after_the_source_is_gone(*arguments):
        with sqlite3.connect(database) as connection:
            connection.execute("drop table Orders")
        return check(*arguments)

    monkeypatch.setattr(loaders, "rows_missing_by_day", after_the_source_is_gone)
    report = run_with_sandboxes(settings, ("orders",))

    assert report.ok, report.errors
    [warning] = report.warnings
    assert warning.startswith("orders: loaded, but the check of the source's rows per day") and "\n" not in warning
    assert loaded(settings)[0] == sorted(shop.BOOK_ROWS)


@pytest.mark.mysql
def test_a_mariadb_read_prints_the_loaders_lines_and_no_dlt_warnings(tmp_path, mysql_url):
    """dlt warned twice on every MariaDB read that the Arrow schema's column hints differ from its own."""
    engine = sa.create_engine(mysql_url)
    shop.seed(engine, orders=60)
    engine.dispose()

    run = Workspace(tmp_path, ORDERS_DB_URL=mysql_url).cli("ingestion", "run", "--source", "orders")

    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr and "column hints" not in run.stderr, run.stderr
    assert run.stderr.splitlines()[:2] == [
        f"orders: reading Orders at {mysql_url}",
        "orders -> warehouse: loading",
    ]
