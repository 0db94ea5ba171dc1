"""Read back what a run landed, the way a user would: SQL on the warehouse, Parquet in the lake."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import boto3
import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import sqlalchemy as sa

from sandbox import orders_db as shop
from settings import REPO_ROOT, Settings


def s3_client(environment: Mapping[str, str]):
    return boto3.client(
        "s3",
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_REGION"],
        endpoint_url=environment["AWS_ENDPOINT_URL"],
    )


def warehouse_rows(settings: Settings, table: str, columns: list[str]) -> list[tuple]:
    if not settings.warehouse_path.exists():
        return []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        exists = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?", [table]
        ).fetchone()[0]
        if not exists:
            return []
        rows = connection.execute(f"select {', '.join(columns)} from raw.{table}").fetchall()
    return in_order(_plain(row) for row in rows)


def in_order(rows) -> list[tuple]:
    """`rows` sorted, NULLs (None) last in each column."""
    return sorted(rows, key=lambda row: tuple((value is None, value) for value in row))


def lake_rows(settings: Settings, table: str, columns: list[str]) -> list[tuple]:
    """Every row of every Parquet file under `<lake>/raw/<table>/`."""
    if settings.lake_is_s3:
        parts = urlsplit(settings.lake_url)
        filesystem = pafs.S3FileSystem(
            access_key=settings.aws["AWS_ACCESS_KEY_ID"],
            secret_key=settings.aws["AWS_SECRET_ACCESS_KEY"],
            region=settings.aws["AWS_REGION"],
            endpoint_override=settings.aws["AWS_ENDPOINT_URL"],
        )
        path = f"{parts.netloc}{parts.path}/raw/{table}"
    else:
        filesystem = pafs.LocalFileSystem()
        path = f"{settings.lake_url}/raw/{table}"
    if filesystem.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    dataset = ds.dataset(path, filesystem=filesystem, format="parquet")
    return in_order(_plain(row) for row in dataset.to_table(columns=columns).to_pylist())


def _plain(row) -> tuple:
    """Aware UTC datetimes as naive ones, so both destinations compare to the source's DATETIMEs."""
    values = row.values() if isinstance(row, dict) else row
    return tuple(
        value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
        for value in values
    )


LOG_COLUMNS = ["record_id", "logtimestamp", "data"]
ORDER_COLUMNS = ["order_id", "order_status", "last_updated"]


def source_orders(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    table = shop.orders_table()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.OrderId, table.c.OrderStatus, table.c.LastUpdated)).fetchall()
    engine.dispose()
    return sorted(tuple(row) for row in rows)


def sent_records(sandbox) -> list[tuple]:
    """Each record once, with the token of the first poll that carried it."""
    first: dict[str, tuple] = {}
    for page in sandbox.pages_sent:
        for record in page:
            if isinstance(record, dict):  # not a malformed element
                first.setdefault(record["recordId"], (record["recordId"], record["logtimestamp"], record["data"]))
    return sorted(first.values())


def seeded(url: str) -> str:
    engine = sa.create_engine(url)
    shop.seed(engine, orders=50)
    engine.dispose()
    return url


def assert_destinations_hold(settings, sandbox, orders_url) -> None:
    for read in (warehouse_rows, lake_rows):
        assert read(settings, "logs", LOG_COLUMNS) == sent_records(sandbox), read.__name__
        assert read(settings, "orders", ORDER_COLUMNS) == source_orders(orders_url), read.__name__


def assert_each_record_and_row_once(settings, sandbox, orders_url, destinations=(warehouse_rows, lake_rows)) -> None:
    """Every record the API served is in both destinations once, with a token the API sent for it (a killed
    run's poll may never land, and the next poll carries the record with another token); every source row once.
    """
    sent: dict[str, set[tuple]] = {}
    for page in sandbox.pages_sent:
        for record in page:
            if isinstance(record, dict):  # not a malformed element
                sent.setdefault(record["recordId"], set()).add(
                    (record["recordId"], record["logtimestamp"], record["data"])
                )
    for read in destinations:
        rows = read(settings, "logs", LOG_COLUMNS)
        assert sorted(row[0] for row in rows) == sorted(sent), read.__name__
        assert all(row in sent[row[0]] for row in rows), read.__name__
        orders = read(settings, "orders", ORDER_COLUMNS)
        expected = source_orders(orders_url)
        assert orders == expected, (read.__name__, set(orders) ^ set(expected), len(orders), len(expected))


# The documentation: the README, the pages under docs/ and the overview `make docs` shows.
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "models" / "overview.md"]


def documentation() -> str:
    """The README and every page under docs/, as one text (what the samples tests compare)."""
    return "\n".join(page.read_text() for page in PAGES)


def rows_read(url: str, table: str = "Orders") -> int:
    """How many rows of `table` MariaDB has read for queries since the server started (its table statistics,
    which this turns on: `userstat`)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("set global userstat = 1")
        read = connection.exec_driver_sql(
            "select rows_read from information_schema.table_statistics where table_schema = database() "
            "and table_name = %s",
            (table,),
        ).scalar()
    engine.dispose()
    return read or 0
