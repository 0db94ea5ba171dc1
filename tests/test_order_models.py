"""`orders` and `order_status_history` stay correct under late, tied and duplicate rows.

The truth is computed here in plain Python from the source table; the incremental models,
and a `--full-refresh` build on the same raw data, must both equal it after every step.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import orders_db as shop
from settings import REPO_ROOT
from tests.workspace import Workspace

ORDER_MODELS = ("orders", "order_status_history")
LIFECYCLE = {"Pending": 1, "Processing": 2, "Backordered": 3, "Shipped": 4, "Delivered": 5, "Cancelled": 6}
STATUSES = [*LIFECYCLE, "Returned"]  # one the seed does not know
START = datetime(2021, 3, 1, 8, 0, 0)


def truth(source_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(orders, history) as the models define them, from the source rows."""
    changes: dict[int, list[tuple[str, datetime]]] = {}
    for order, status, updated in set(source_rows):
        changes.setdefault(order, []).append((status, updated))
    orders, history = [], []
    for order, rows in changes.items():
        rows.sort(key=lambda row: (row[1], LIFECYCLE.get(row[0], 1000), row[0]))
        orders.append((order, rows[-1][0], max(updated for _, updated in rows)))
        for (status, valid_from), following in zip(rows, [*rows[1:], None], strict=True):
            valid_to = following[1] if following else None
            history.append((order, status, valid_from, valid_to, following is None))
    return sorted(orders), sorted(history, key=_history_key)


def _history_key(row: tuple) -> tuple:
    return (row[0], row[2], LIFECYCLE.get(row[1], 1000), row[1])


def built(workspace: Workspace) -> tuple[list[tuple], list[tuple]]:
    orders = workspace.query("select order_id, order_status, last_updated_at from orders order by all")
    history = workspace.query(
        "select order_id, order_status, valid_from, valid_to, is_current from order_status_history"
    )
    return orders, sorted(history, key=_history_key)


def full_refresh_of(workspace: Workspace, folder: Path) -> tuple[list[tuple], list[tuple]]:
    """The order models rebuilt from scratch on a copy of the same warehouse."""
    folder.mkdir()
    shutil.copy(workspace.settings.warehouse_path, folder / "warehouse.duckdb")
    copy = Workspace(folder)
    copy.dbt("run", "--full-refresh", "--select", *ORDER_MODELS)
    return built(copy)


def source_rows(engine: sa.Engine) -> list[tuple]:
    table = shop.orders_table()
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(*table.c))]


def insert(engine: sa.Engine, rows: list[tuple]) -> None:
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": order, "OrderStatus": status, "LastUpdated": updated} for order, status, updated in rows],
        )


def build_orders(workspace: Workspace) -> None:
    workspace.ingest("orders")
    workspace.dbt("build", "--select", "+order_status_history", "+orders")


def test_the_books_rows_give_each_orders_latest_state_and_order_1s_history(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    insert(engine, shop.BOOK_ROWS)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url))

    build_orders(workspace)

    orders, history = built(workspace)
    assert orders == [
        (1, "Shipped", datetime(2020, 6, 9, 12, 0, 25)),
        (2, "Shipped", datetime(2020, 7, 11, 3, 5, 0)),
        (3, "Shipped", datetime(2020, 7, 12, 12, 0, 0)),
    ]
    assert [row for row in history if row[0] == 1] == [
        (1, "Backordered", datetime(2020, 6, 1, 12, 0, 0), datetime(2020, 6, 9, 11, 50, 0), False),
        (1, "Shipped", datetime(2020, 6, 9, 11, 50, 0), datetime(2020, 6, 9, 12, 0, 25), False),
        (1, "Shipped", datetime(2020, 6, 9, 12, 0, 25), None, True),
    ]


def test_a_late_row_between_two_versions_re_cuts_the_history_and_leaves_the_state(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    insert(engine, shop.BOOK_ROWS)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url), ORDERS_LOOKBACK_SECONDS="86400")
    build_orders(workspace)

    late = (3, "Processing", datetime(2020, 7, 12, 9, 0, 0))  # older than order 3's Shipped row
    insert(engine, [late])
    build_orders(workspace)

    orders, history = built(workspace)
    assert (3, "Shipped", datetime(2020, 7, 12, 12, 0, 0)) in orders
    assert [row for row in history if row[0] == 3] == [
        (3, "Processing", datetime(2020, 7, 12, 9, 0, 0), datetime(2020, 7, 12, 12, 0, 0), False),
        (3, "Shipped", datetime(2020, 7, 12, 12, 0, 0), None, True),
    ]


@st.composite
def shop_activity(draw: st.DrawFn) -> list[list[tuple]]:
    """Steps of source changes: new orders, status changes, late rows, ties and duplicates."""
    steps, rows, clock = [], [], START
    for _ in range(draw(st.integers(2, 3))):
        step = []
        for _ in range(draw(st.integers(1, 8))):
            kind = draw(st.sampled_from(["new", "change", "late", "tie", "duplicate"]))
            known = rows + step
            if kind == "new" or not known:
                clock += timedelta(minutes=draw(st.integers(1, 90)))
                row = (draw(st.integers(1, 30)), "Pending", clock)
            elif kind == "change":
                clock += timedelta(minutes=draw(st.integers(0, 90)))
                row = (draw(st.sampled_from(known))[0], draw(st.sampled_from(STATUSES)), clock)
            elif kind == "late":
                late_by = timedelta(minutes=draw(st.integers(1, 600)))
                row = (draw(st.sampled_from(known))[0], draw(st.sampled_from(STATUSES)), clock - late_by)
            elif kind == "tie":
                order, _, updated = draw(st.sampled_from(known))
                row = (
                    draw(st.sampled_from([order, draw(st.integers(1, 30))])),
                    draw(st.sampled_from(STATUSES)),
                    updated,
                )
            else:
                row = draw(st.sampled_from(known))
            step.append(row)
        steps.append(step)
        rows += step
    return steps


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=shop_activity())
def test_incremental_builds_equal_a_full_refresh_and_the_truth_after_every_step(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("activity")
    engine = sa.create_engine(f"sqlite:///{folder / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    workspace = Workspace(folder / "project", ORDERS_DB_URL=str(engine.url), ORDERS_LOOKBACK_SECONDS="86400")

    for number, step in enumerate(steps):
        insert(engine, step)
        build_orders(workspace)
        expected = truth(source_rows(engine))
        assert built(workspace) == expected, f"incremental build after step {number}"
        assert full_refresh_of(workspace, folder / f"refresh-{number}") == expected, f"full refresh, step {number}"
    engine.dispose()


def test_the_models_follow_the_sandbox_shop_on_mariadb(tmp_path, mysql_url, steps=3):
    engine = sa.create_engine(mysql_url)
    shop.seed(engine, orders=60)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=mysql_url)

    for number in range(steps):
        if number:
            shop.advance(engine)
        build_orders(workspace)
        expected = truth(source_rows(engine))
        assert built(workspace) == expected, f"incremental build after step {number}"
    assert full_refresh_of(workspace, tmp_path / "refresh") == built(workspace)
    engine.dispose()


def test_after_a_full_refresh_of_the_source_the_next_run_drops_orders_it_no_longer_has(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    insert(engine, shop.BOOK_ROWS)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url))
    build_orders(workspace)
    with engine.begin() as connection:
        connection.exec_driver_sql("delete from Orders where OrderId = 2")

    workspace.ingest("orders", full_refresh=True)
    workspace.dbt("run", "--select", "+order_status_history", "+orders")

    expected = truth(source_rows(engine))
    assert [order for order, _, _ in expected[0]] == [1, 3]
    assert built(workspace) == expected
    assert full_refresh_of(workspace, tmp_path / "refresh") == expected


def test_a_row_without_last_updated_is_left_out_of_the_history_with_a_warning(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    insert(engine, [*shop.BOOK_ROWS, (4, "Pending", None)])
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url))

    workspace.ingest("orders")
    output = workspace.dbt("build", "--select", "+order_status_history", "+orders")

    assert "WARN 1 not_null_stg_orders_db__orders_last_updated_at" in output
    assert built(workspace) == truth([row for row in source_rows(engine) if row[2] is not None])
    assert workspace.query("select count(*) from orders where order_id = 4") == [(0,)]


def test_rows_a_loader_with_its_clock_two_hours_behind_loaded_reach_the_models_and_are_never_doubled(tmp_path):
    """Such a run writes smaller load ids: the models, keeping only rows loaded after their largest, skipped its
    rows under a green build; and with PIPELINES_DIR deleted, dlt took back the state of the largest load id,
    the older one, and read those rows again."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.seed(engine, orders=30)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url), PYTHONPATH=str(REPO_ROOT))
    build_orders(workspace)
    shop.advance(engine)

    behind = workspace.cli("tests.clock", "7200", "--source", "orders")
    assert behind.returncode == 0, behind.stderr
    assert re.search(r"warning: this machine's clock is 7,[01]\d\d s behind the newest load", behind.stderr)
    workspace.dbt("build", "--select", "+order_status_history", "+orders")
    assert built(workspace) == truth(source_rows(engine)), "the rows of the run behind are modelled"

    shutil.rmtree(workspace.settings.pipelines_dir)
    shop.advance(engine)
    build_orders(workspace)
    assert sorted(workspace.query("select order_id, order_status, last_updated from raw.orders")) == sorted(
        source_rows(engine)
    ), "every source row once in raw"
    assert built(workspace) == truth(source_rows(engine)) == full_refresh_of(workspace, tmp_path / "refresh")
    engine.dispose()


def test_a_load_with_a_smaller_load_id_than_those_already_modelled_is_modelled(tmp_path):
    """The models' progress follows the set of loads they have seen, not the order of load ids (which another
    loader host, or one whose clock stepped back before load ids were kept increasing, can break)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.seed(engine, orders=20)
    workspace = Workspace(tmp_path / "project", ORDERS_DB_URL=str(engine.url))
    build_orders(workspace)
    engine.dispose()
    with duckdb.connect(str(workspace.settings.warehouse_path)) as warehouse:
        [(oldest,)] = warehouse.execute("select min(_dlt_load_id) from raw.orders").fetchall()
        warehouse.execute(
            "insert into raw.orders (order_id, order_status, last_updated, _dlt_load_id, _dlt_id)"
            " values (1, 'Returned', timestamp '2020-08-01 10:00:00', ?, 'a-load-from-behind')",
            [f"{float(oldest) - 7200:.7f}"],
        )

    workspace.dbt("build", "--select", "+order_status_history", "+orders")

    raw = workspace.query("select order_id, order_status, last_updated from raw.orders")
    assert (1, "Returned", datetime(2020, 8, 1, 10, 0)) in built(workspace)[0]
    assert built(workspace) == truth(raw) == full_refresh_of(workspace, tmp_path / "refresh")
