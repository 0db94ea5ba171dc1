"""The `Orders` table as a dlt source: dlt's `sql_table`, incremental on `LastUpdated`.

Each run reads the rows with `LastUpdated >= newest already loaded - look-back`. The look-back
catches rows committed late (with a `LastUpdated` older than rows already loaded); rows that the
window reads again are dropped by `SeenInLookback`, so a re-run never loads a row twice. The
table has no primary key and may hold identical rows, so a row's identity is its values plus
its occurrence number among identical rows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

CURSOR = "LastUpdated"
KEY_COLUMNS = ("OrderId", "OrderStatus", "LastUpdated")
RESOURCE = "orders"


@dlt.source(name="orders_db")
def orders_db(
    engine: sa.Engine,
    table: str = "Orders",
    lookback_seconds: int = 3600,
    chunk_size: int = 50_000,
) -> DltResource:
    """Rows of `table` loaded to the `orders` table: appended, never de-duplicated across source rows."""
    rows = sql_table(
        credentials=engine,
        table=table,
        backend="pyarrow",
        chunk_size=chunk_size,
        reflection_level="full_with_precision",
        incremental=dlt.sources.incremental[datetime](CURSOR, lag=lookback_seconds, range_start="closed"),
        write_disposition="append",
    ).with_name(RESOURCE)
    rows.apply_hints(table_name=RESOURCE)
    return rows.add_map(SeenInLookback(lookback_seconds))


class SeenInLookback:
    """Drops rows an earlier run loaded; remembers the keys of rows inside the look-back window.

    The memory lives in the resource's dlt state, so it is committed with the load it
    describes and reset by `--full-refresh`.
    """

    def __init__(self, lookback_seconds: int) -> None:
        self.lookback_us = lookback_seconds * 1_000_000
        self.occurrences: Counter[str] = Counter()

    def __call__(self, batch: pa.Table) -> pa.Table:
        state = dlt.current.resource_state(RESOURCE)
        seen: dict[str, int] = state.setdefault("seen_in_lookback", {})
        newest = max([*seen.values(), _max_micros(batch)], default=0)
        keep = []
        for row in batch.select(list(KEY_COLUMNS)).to_pylist():
            updated = _micros(row[CURSOR])
            value_key = f"{row['OrderId']}|{row['OrderStatus']}|{updated}"
            self.occurrences[value_key] += 1
            key = f"{value_key}|{self.occurrences[value_key]}"
            keep.append(key not in seen)
            if updated >= newest - self.lookback_us:
                seen[key] = updated
        for key in [key for key, updated in seen.items() if updated < newest - self.lookback_us]:
            del seen[key]
        return batch.filter(pa.array(keep, type=pa.bool_()))


def _micros(value: datetime) -> int:
    """Microseconds since the epoch of a naive (read as UTC) or aware datetime, exactly."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _max_micros(batch: pa.Table) -> int:
    if batch.num_rows == 0:
        return 0
    return _micros(pc.max(batch[CURSOR]).as_py())
