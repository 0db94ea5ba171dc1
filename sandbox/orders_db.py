"""A seeded `Orders` table, as in "Data Pipelines Pocket Reference", in any SQLAlchemy database.

`seed` creates the table (no primary key: one order has several rows over time) with the
book's five rows plus generated orders; `advance` moves the shop on so incremental loads have
something to find: new orders, status changes, a row committed late (older than the newest
`LastUpdated`) and rows that tie on one timestamp, the previous newest included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

BOOK_ROWS = [
    (1, "Backordered", datetime(2020, 6, 1, 12, 0, 0)),
    (1, "Shipped", datetime(2020, 6, 9, 12, 0, 25)),
    (2, "Shipped", datetime(2020, 7, 11, 3, 5, 0)),
    (1, "Shipped", datetime(2020, 6, 9, 11, 50, 0)),
    (3, "Shipped", datetime(2020, 7, 12, 12, 0, 0)),
]
NEXT_STATUS = {
    "Pending": ["Processing", "Processing", "Processing", "Cancelled"],
    "Processing": ["Shipped", "Shipped", "Backordered"],
    "Backordered": ["Shipped"],
    "Shipped": ["Delivered"],
}
FIRST_GENERATED_ORDER = 4
SEED_START = datetime(2020, 7, 13, 9, 0, 0)


@dataclass(frozen=True)
class Advance:
    """What one `advance` inserted."""

    new_orders: int
    status_changes: int
    late_rows: int
    tied_rows: int

    @property
    def rows(self) -> int:
        return self.new_orders + self.status_changes + self.late_rows + self.tied_rows


def orders_table(name: str = "Orders", metadata: sa.MetaData | None = None) -> sa.Table:
    return sa.Table(
        name,
        metadata or sa.MetaData(),
        sa.Column("OrderId", sa.Integer, nullable=False),
        sa.Column("OrderStatus", sa.String(30), nullable=False),
        sa.Column("LastUpdated", sa.DateTime, nullable=True),  # as in the book: a row may lack it
    )


def create_database(engine: sa.Engine) -> bool:
    """Creates the MySQL/MariaDB database the engine's URL names, or the SQLite file's folder, when missing.

    Returns whether a MySQL database was created. Other dialects are left to their server.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() != "mysql" or not url.database:
        return False
    server = sa.create_engine(
        sa.URL.create(url.drivername, url.username, url.password, url.host, url.port, query=url.query)
    )
    try:
        with server.begin() as connection:
            known = "select count(*) from information_schema.schemata where schema_name = %s"
            if connection.exec_driver_sql(known, (url.database,)).scalar():
                return False
            connection.exec_driver_sql(f"create database `{url.database.replace('`', '``')}`")
    finally:
        server.dispose()
    return True


def seed(engine: sa.Engine, table_name: str = "Orders", orders: int = 200, seed: int = 7) -> int:
    """Creates and fills the table when it is empty; returns the rows inserted (0 if it had rows)."""
    table = orders_table(table_name)
    table.create(engine, checkfirst=True)
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
            return 0
        rows = list(BOOK_ROWS) + list(_generated_history(random.Random(seed), orders))
        _insert(connection, table, rows)
    return len(rows)


def advance(engine: sa.Engine, table_name: str = "Orders", seed: int = 7) -> Advance:
    """One step of shop activity, deterministic for a given table content and seed."""
    table = orders_table(table_name)
    with engine.begin() as connection:
        latest = _latest_status_by_order(connection, table)
        newest = max(updated for _, updated in latest.values())
        rng = random.Random(seed * 7919 + len(latest) + int(newest.timestamp()))
        now = newest + timedelta(hours=1)
        open_orders = sorted(order for order, (status, _) in latest.items() if status in NEXT_STATUS)
        movers = rng.sample(open_orders, min(10, len(open_orders)))
        first_new = max(latest) + 1

        changes = [
            (order, rng.choice(NEXT_STATUS[latest[order][0]]), now - timedelta(minutes=rng.randrange(1, 50)))
            for order in movers[2:]
        ]
        new_orders = [(first_new + n, "Pending", now - timedelta(minutes=rng.randrange(1, 50))) for n in range(5)]
        # Committed late: its LastUpdated is older than rows an earlier load already saw.
        late = [(movers[0], rng.choice(NEXT_STATUS[latest[movers[0]][0]]), newest - timedelta(minutes=20))]
        # Ties: one on the previous newest timestamp, two on the new newest.
        tied = [
            (first_new + 5, "Pending", newest),
            (first_new + 6, "Pending", now),
            (movers[1], rng.choice(NEXT_STATUS[latest[movers[1]][0]]), now),
        ]
        _insert(connection, table, changes + new_orders + late + tied)
    return Advance(len(new_orders), len(changes), len(late), len(tied))


def _generated_history(rng: random.Random, orders: int) -> list[tuple[int, str, datetime]]:
    rows = []
    for order in range(FIRST_GENERATED_ORDER, FIRST_GENERATED_ORDER + orders):
        updated = SEED_START + timedelta(minutes=7 * order + rng.randrange(0, 7))
        status = "Pending"
        rows.append((order, status, updated))
        while status in NEXT_STATUS and rng.random() < 0.7:
            status = rng.choice(NEXT_STATUS[status])
            updated += timedelta(hours=rng.randrange(1, 72), seconds=rng.randrange(0, 3600))
            rows.append((order, status, updated))
    return rows


def _latest_status_by_order(connection: sa.Connection, table: sa.Table) -> dict[int, tuple[str, datetime]]:
    latest: dict[int, tuple[str, datetime]] = {}
    query = sa.select(table.c.OrderId, table.c.OrderStatus, table.c.LastUpdated).order_by(
        table.c.LastUpdated, table.c.OrderStatus
    )
    for order, status, updated in connection.execute(query):
        latest[order] = (status, updated)
    if not latest:
        raise ValueError(f"table {table.name} is empty: seed it before advancing it")
    return latest


def _insert(connection: sa.Connection, table: sa.Table, rows: list[tuple[int, str, datetime]]) -> None:
    connection.execute(
        table.insert(),
        [{"OrderId": order, "OrderStatus": status, "LastUpdated": updated} for order, status, updated in rows],
    )
