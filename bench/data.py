"""The benchmark's data, generated deterministically: an orders table in MySQL, log records in a warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dlt
import sqlalchemy as sa

from ingestion.log_api import log_api
from ingestion.log_api_client import Poll
from sandbox.log_api import LogApiSandbox

ORDER_STATUSES = ("Pending", "Processing", "Shipped")
FIRST_UPDATE = "2024-01-01 00:00:00"


def seed_orders(url: str, table: str, rows: int) -> None:
    """`rows` rows: three status changes per order, one second apart, in MariaDB's `seq_1_to_N` order."""
    engine = sa.create_engine(url)
    statuses = ", ".join(f"'{status}'" for status in ORDER_STATUSES)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"drop table if exists {table}")
        connection.exec_driver_sql(
            f"create table {table} (OrderId int not null, OrderStatus varchar(30) not null, LastUpdated datetime null)"
        )
        connection.exec_driver_sql(
            f"insert into {table} select (seq + 2) div 3, elt((seq + 2) mod 3 + 1, {statuses}), "
            f"timestamp '{FIRST_UPDATE}' + interval seq second from seq_1_to_{rows}"
        )
    engine.dispose()


def change_orders(url: str, table: str, share: float) -> int:
    """Adds a later status change (`Delivered`) to `share` of the rows' count, one a second after the newest row."""
    rows_to_add = max(1, int(_count(url, table) * share))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        newest = connection.exec_driver_sql(f"select max(LastUpdated) from {table}").scalar_one()
        connection.exec_driver_sql(
            f"insert into {table} select seq, 'Delivered', timestamp '{newest}' + interval seq second "
            f"from seq_1_to_{rows_to_add}"
        )
    engine.dispose()
    return rows_to_add


def update_orders(url: str, table: str, rows: int) -> None:
    """Changes the status of `rows` rows in place (LastUpdated untouched): changes only the binary log sees."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"update {table} set OrderStatus = if(OrderStatus = 'Shipped', 'Delivered', 'Shipped') limit {rows}"
        )
    engine.dispose()


def change_rows_in_place(url: str, table: str, changes: int) -> None:
    """`changes` changes only the binary log sees, of each kind: 80% status changes in place (LastUpdated
    untouched), 10% deletes and 10% inserts of new orders."""
    deletes = inserts = changes // 10
    update_orders(url, table, changes - deletes - inserts)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        newest_order = connection.exec_driver_sql(f"select max(OrderId) from {table}").scalar_one()
        connection.exec_driver_sql(f"delete from {table} order by OrderId desc limit {deletes}")
        connection.exec_driver_sql(
            f"insert into {table} select {newest_order} + seq, 'Pending', timestamp '{FIRST_UPDATE}' "
            f"from seq_1_to_{inserts}"
        )
    engine.dispose()


def create_database(server_url: str, name: str) -> str:
    """A new database on the server at `server_url`; its URL."""
    engine = sa.create_engine(server_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"create database if not exists {name}")
    engine.dispose()
    return f"{server_url}/{name}"


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.exec_driver_sql(f"select count(*) from {table}").scalar_one()
    engine.dispose()
    return count


def load_log_records(warehouse: Path, pipelines_dir: Path, records: int, key: str, lake: str | None = None) -> None:
    """`records` sandbox records (encrypted with `key`) loaded into `raw.logs` by the project's own log source,
    and into the lake's `raw/logs/` too when `lake` is given.
    """
    sandbox = LogApiSandbox(key=key, published=records)
    poll = Poll(polled_at=datetime.now(UTC), records=[sandbox.record(index) for index in range(records)], rejected=[])
    destinations = {"bench_logs": dlt.destinations.duckdb(str(warehouse))}
    if lake:
        destinations["bench_logs_lake"] = dlt.destinations.filesystem(bucket_url=lake)
    for name, destination in destinations.items():
        pipeline = dlt.pipeline(name, destination=destination, dataset_name="raw", pipelines_dir=str(pipelines_dir))
        file_format = "parquet" if name.endswith("lake") else None
        pipeline.run(log_api([poll], lambda record_ids: set()), loader_file_format=file_format)
