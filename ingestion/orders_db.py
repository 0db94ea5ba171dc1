"""The `Orders` table as a dlt source: dlt's `sql_table`, incremental on `LastUpdated`.

Each run reads the rows with `LastUpdated >= newest already loaded - look-back`. The look-back
catches rows committed late (with a `LastUpdated` older than rows already loaded); rows that the
window reads again are dropped by `SeenInLookback`, so a re-run never loads a row twice. The
table has no primary key and may hold identical rows, so a row's identity is its values plus
its occurrence number among identical rows.

A row dated in the future (more than `FUTURE_TOLERANCE` after the source database's clock) is
loaded like any other, and named in a warning, but it does not move the window: the next run
starts from the newest row that is not in the future (`hold_cursor_at_clock`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.row_ids import with_row_ids
from settings.sources import ORDERS

CURSOR = "LastUpdated"
KEY_COLUMNS = ("OrderId", "OrderStatus", "LastUpdated")
RESOURCE = "orders"
CONNECTORX_DIALECTS = ("mysql", "mariadb", "postgresql")
MYSQL_DIALECTS = ("mysql", "mariadb")
# MySQL sends TIMESTAMP values in the session's time zone, the server's own by default: every session
# of the loader reads them in UTC, so that they are instants, and the hour repeated in autumn is two hours.
MYSQL_UTC_SESSION = "SET time_zone = '+00:00'"
# More than any time zone's offset: a `LastUpdated` written in the server's local time is not "future".
FUTURE_TOLERANCE = timedelta(days=1)


# A column whose type changes in the source is refused at extract, by both destinations alike: the lake's
# Parquet files would take the new type where the warehouse's table cannot.
CONTRACT = {"data_type": "freeze"}


@dlt.source(name=ORDERS.dlt_name, schema_contract=CONTRACT)
def orders_db(
    engine: sa.Engine,
    table: str = "Orders",
    lookback_seconds: int = 3600,
    chunk_size: int = 50_000,
    clock: datetime | None = None,
    future_rows: dict[str, str] | None = None,
) -> DltResource:
    """Rows of `table` loaded to the `orders` table: appended, never de-duplicated across source rows.

    `clock` is the source database's time at the start of the run (`source_clock`); each row loaded
    with a `LastUpdated` in its future is added to `future_rows` (a description by row key).
    """
    rows = sql_table(
        credentials=engine,
        table=table,
        chunk_size=chunk_size,
        **table_backend(engine, chunk_size),
        reflection_level="full_with_precision",
        # A row without `LastUpdated` lands too (dbt leaves it out of the history and warns).
        incremental=dlt.sources.incremental[datetime](
            CURSOR, lag=lookback_seconds, range_start="closed", on_cursor_value_missing="include"
        ),
        write_disposition="append",
    ).with_name(RESOURCE)
    rows.apply_hints(table_name=RESOURCE)
    seen = SeenInLookback(lookback_seconds, source_identity(engine, table), clock or source_clock(engine), future_rows)
    return rows.add_map(seen).add_map(with_row_ids)


def table_backend(engine: sa.Engine, chunk_size: int) -> dict:
    """connectorx where it reads the database natively (MySQL/MariaDB, PostgreSQL): it reads rows straight into
    Arrow, streamed in batches of `chunk_size`, several times faster than row-by-row drivers. Any other
    database goes through SQLAlchemy into Arrow.
    """
    if engine.dialect.name in CONNECTORX_DIALECTS:
        options = {"return_type": "arrow_stream", "batch_size": chunk_size}
        if engine.dialect.name in MYSQL_DIALECTS:
            options["pre_execution_query"] = [MYSQL_UTC_SESSION]
        return {"backend": "connectorx", "backend_kwargs": options}
    return {"backend": "pyarrow"}


def source_identity(engine: sa.Engine, table: str) -> str:
    """Which table of which database, without credentials: the state of a load belongs to it."""
    url = engine.url
    where = f"{url.host or ''}{f':{url.port}' if url.port else ''}/{url.database or ''}"
    return f"{url.get_backend_name()}://{where} table {table}"


def source_clock(engine: sa.Engine) -> datetime:
    """The source database's own time (naive times are read as UTC, as `LastUpdated` is)."""
    with engine.connect() as connection:
        now = connection.execute(sa.select(sa.func.now())).scalar_one()
    if isinstance(now, str):  # SQLite's CURRENT_TIMESTAMP, in UTC
        now = datetime.fromisoformat(now)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def hold_cursor_at_clock(pipeline: dlt.Pipeline) -> None:
    """Starts the next read from the newest row that is not in the future, where a future row moved the cursor.

    dlt's cursor is the largest `LastUpdated` loaded: after one row dated years ahead, every later row
    would fall before the window. `SeenInLookback` keeps the newest value that is not in the future in
    the same state; this puts it back as the cursor before the pipeline extracts.
    """
    with pipeline.managed_state() as state:
        resource = state.get("sources", {}).get(ORDERS.dlt_name, {}).get("resources", {}).get(RESOURCE, {})
        cursor = resource.get("incremental", {}).get(CURSOR)
        held = resource.get("newest_by_clock")
        if cursor and held is not None and cursor.get("last_value") is not None:
            last_value = cursor["last_value"]
            if _micros(last_value) > held:
                cursor["last_value"] = _from_micros(held, like=last_value)
                cursor["unique_hashes"] = []  # of the future rows; `SeenInLookback` drops what is read again


def loaded_source(pipeline: dlt.Pipeline) -> str | None:
    """The `source_identity` the pipeline's orders state belongs to (None before the first load)."""
    resources = pipeline.state.get("sources", {}).get(ORDERS.dlt_name, {}).get("resources", {})
    return resources.get(RESOURCE, {}).get("source")


def rows_missing_by_day(engine: sa.Engine, table: str, pipeline: dlt.Pipeline) -> dict[str, int]:
    """Per day of `LastUpdated`: how many more rows the source has than the pipeline's destination.

    Rows committed later than the look-back window are never read by an incremental run; this
    finds them with one count per day on each side.
    """
    source_table = sa.Table(table, sa.MetaData(), autoload_with=engine)
    day = sa.func.date(source_table.c[CURSOR])
    with engine.connect() as connection:
        in_source = {
            str(when): rows
            for when, rows in connection.execute(sa.select(day, sa.func.count()).group_by(day))
            if when is not None
        }
    with pipeline.sql_client(ORDERS.dlt_name) as client:
        raw = client.make_qualified_table_name(RESOURCE)
        loaded = dict(
            client.execute_sql(
                f"select cast(cast(timezone('UTC', last_updated) as date) as varchar), count(*) from {raw} group by 1"
            )
        )
    return {when: rows - loaded.get(when, 0) for when, rows in sorted(in_source.items()) if rows > loaded.get(when, 0)}


class SeenInLookback:
    """Drops rows an earlier run loaded; remembers the keys of rows inside the look-back window.

    The memory lives in the resource's dlt state, so it is committed with the load it
    describes and reset by `--full-refresh`. Rows dated in the future of `clock` are remembered
    and loaded, but the window follows the newest row that is not (`newest_by_clock` in the state).
    """

    def __init__(
        self, lookback_seconds: int, source: str, clock: datetime, future_rows: dict[str, str] | None = None
    ) -> None:
        self.lookback_us = lookback_seconds * 1_000_000
        self.source = source
        self.future_us = _micros(clock + FUTURE_TOLERANCE)
        self.future_rows = {} if future_rows is None else future_rows
        self.occurrences: Counter[str] = Counter()

    def __call__(self, batch: pa.Table) -> pa.Table:
        state = dlt.current.resource_state(RESOURCE)
        state["source"] = self.source
        seen: dict[str, int] = state.setdefault("seen_in_lookback", {})
        undated = _StateSet(state.setdefault("seen_without_last_updated", []))
        updated_us = _micros_column(batch)
        present = pc.filter(updated_us, pc.less_equal(updated_us, self.future_us))
        remembered_present = (updated for updated in seen.values() if updated <= self.future_us)
        newest = max([state.get("newest_by_clock", 0), *remembered_present, pc.max(present).as_py() or 0])
        state["newest_by_clock"] = newest
        window_start = newest - self.lookback_us
        # Only a row as old as a remembered one can have been loaded already, and only a row inside the
        # window is remembered now; every other row is kept without a look in Python. (Identical rows share
        # their time, so they are all looked at or none: their occurrence numbers hold.)
        candidate = pc.or_kleene(pc.is_null(updated_us), pc.greater_equal(updated_us, window_start))
        if seen:
            remembered = pc.and_(
                pc.greater_equal(updated_us, min(seen.values())), pc.less_equal(updated_us, max(seen.values()))
            )
            candidate = pc.or_kleene(candidate, remembered)
        candidates = pc.indices_nonzero(candidate)
        keep = [True] * batch.num_rows
        rows = batch.take(candidates).select(list(KEY_COLUMNS)).to_pylist()
        for index, row in zip(candidates.to_pylist(), rows, strict=True):
            if row[CURSOR] is None:  # every run reads these again (dlt: `LastUpdated IS NULL`): few, kept for good
                key = f"{row['OrderId']}|{row['OrderStatus']}|null"
                self.occurrences[key] += 1
                keep[index] = f"{key}|{self.occurrences[key]}" not in undated
                undated.add(f"{key}|{self.occurrences[key]}")
                continue
            updated = _micros(row[CURSOR])
            value_key = f"{row['OrderId']}|{row['OrderStatus']}|{updated}"
            self.occurrences[value_key] += 1
            key = f"{value_key}|{self.occurrences[value_key]}"
            keep[index] = key not in seen
            if keep[index] and updated > self.future_us:
                self.future_rows[key] = f"OrderId {row['OrderId']} at {row[CURSOR]}"
            if updated >= window_start:
                seen[key] = updated
        for key in [key for key, updated in seen.items() if updated < window_start]:
            del seen[key]
        return batch if all(keep) else batch.filter(pa.array(keep, type=pa.bool_()))


def _micros_column(batch: pa.Table) -> pa.ChunkedArray:
    """`LastUpdated` as microseconds since the epoch (naive times read as UTC, as `_micros` does)."""
    column = batch[CURSOR]
    if not pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp("us"))
    return pc.cast(pc.cast(column, pa.timestamp("us", column.type.tz)), pa.int64())


def _from_micros(micros: int, like: datetime) -> datetime:
    """The instant `micros` as a datetime naive or aware like `like` (as dlt keeps its cursor)."""
    value = datetime(1970, 1, 1) + timedelta(microseconds=micros)
    return value.replace(tzinfo=UTC).astimezone(like.tzinfo) if like.tzinfo else value


def _micros(value: datetime) -> int:
    """Microseconds since the epoch of a naive (read as UTC) or aware datetime, exactly."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _StateSet:
    """A set kept as a list in dlt's state (which holds JSON-like values only)."""

    def __init__(self, items: list[str]) -> None:
        self.items, self.members = items, set(items)

    def __contains__(self, item: str) -> bool:
        return item in self.members

    def add(self, item: str) -> None:
        if item not in self.members:
            self.items.append(item)
            self.members.add(item)
