"""The binary log's changes as Arrow tables: one typed column per column of the table, before and after.

dlt writes Arrow tables as they are, without looking at each row: fed a dict per change, it spent
more on each change than reading it from the log did.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import sqlalchemy as sa

from ingestion.errors import BinlogError, first_line

BATCH_ROWS = 10_000


def arrow_type(kind: sa.types.TypeEngine) -> pa.DataType | None:
    """The Arrow type of a column of this SQL type, as the binary log's values come (None: taken from the values)."""
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    if isinstance(kind, sa.Numeric):
        return pa.decimal128(kind.precision, kind.scale or 0) if kind.precision else None
    if isinstance(kind, sa.DateTime):  # MySQL's times have no zone; they are read as UTC, as in the timestamp mode
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.String):
        return pa.string()
    if isinstance(kind, (sa.LargeBinary, sa.BINARY, sa.VARBINARY)):
        return pa.binary()
    return None


class ChangeBatches:
    """Changes gathered into Arrow tables of `size` rows: the operation, the row before and after it column by
    column (`before__<column>`, `after__<column>`), where in the log, and when.

    A column keeps the table's type for its values; one the log names that the table no longer has keeps
    its values too, typed as they come.
    """

    def __init__(self, columns: dict[str, pa.DataType | None], size: int = BATCH_ROWS) -> None:
        self.columns, self.size = dict(columns), size
        self.changes: list[tuple] = []
        self.newest_event: datetime | None = None  # the time of the last change added

    def add(
        self, operation: str, before: dict | None, after: dict | None, position: dict, number: int, at: datetime
    ) -> pa.Table | None:
        """Adds a change; returns a full batch once there is one."""
        self.changes.append((operation, before, after, position["file"], position["pos"], number, at))
        self.newest_event = at
        for image in (before, after):
            if image is not None and len(image) != len(self.columns):
                self.columns.update({name: None for name in image if name not in self.columns})
        return self.flush() if len(self.changes) >= self.size else None

    def flush(self) -> pa.Table | None:
        """The changes added since the last batch, as one (None when there are none)."""
        if not self.changes:
            return None
        operations, befores, afters, files, positions, numbers, times = zip(*self.changes, strict=True)
        self.changes = []
        before, after = self._columns_of(befores), self._columns_of(afters)
        return self._table(operations, before, after, files, positions, numbers, times)

    def rows(self, operation: str, names: list[str], rows: list[tuple], position: dict, first: int, at: datetime):
        """Whole rows with the columns `names` (a snapshot's), numbered from `first`, as one batch."""
        self.columns.update({name: None for name in names if name not in self.columns})
        count, nothing = len(rows), [None] * len(rows)
        values = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)) if rows else {}
        after = {name: values.get(name, nothing) for name in self.columns}
        before = dict.fromkeys(self.columns, nothing)
        where = ([position["file"]] * count, [position["pos"]] * count)
        return self._table([operation] * count, before, after, *where, list(range(first, first + count)), [at] * count)

    def _columns_of(self, images: tuple[dict | None, ...]) -> dict[str, list]:
        return {name: [None if image is None else image.get(name) for image in images] for name in self.columns}

    def _table(self, operations, before: dict, after: dict, files, positions, numbers, times) -> pa.Table:
        arrays = {"operation": pa.array(operations, pa.string())}
        for side, values in (("before", before), ("after", after)):
            for name, kind in self.columns.items():
                arrays[f"{side}__{name}"] = _array(values[name], kind, name)
        arrays["binlog_file"] = pa.array(files, pa.string())
        arrays["binlog_position"] = pa.array(positions, pa.int64())
        arrays["row_in_event"] = pa.array(numbers, pa.int64())
        arrays["event_time"] = pa.array(times, pa.timestamp("us", tz="UTC"))
        return pa.table(arrays)


def _array(values: list, kind: pa.DataType | None, name: str) -> pa.Array:
    """`values` as `kind`; as their own type where they do not fit it (an ENUM logged as its number, say)."""
    if kind is not None:
        try:
            return pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise BinlogError(
            f"the values of column {name} in the binary log have several types ({first_line(error)}): "
            "take a new snapshot of the table: `python -m ingestion run --source orders --full-refresh`"
        ) from None
