"""`_dlt_id` for the loader's Arrow tables, made at extract, for a whole table at once.

dlt adds `_dlt_id` to Arrow tables only in its normalize step, by rewriting every Parquet file
with one id made in Python per row (most of a first orders load's time). Made here, the column
is in the extracted files already, which dlt then loads as they are; the ids are in the package,
so a load job run again after a kill loads the same ids (`loading._drop_rows_loaded_twice` keeps
one of each), and a second destination that gets the same tables (`read_once`) the same ones.
"""

from __future__ import annotations

import base64
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DLT_ID = "_dlt_id"


def with_row_ids(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """`table` with a `_dlt_id` column: a random prefix of the table's own, then each row's number in it."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if DLT_ID in table.column_names:
        return table
    prefix = base64.urlsafe_b64encode(os.urandom(9)).decode()  # 72 random bits per table
    numbers = pc.cast(pa.array(np.arange(table.num_rows, dtype=np.int64)), pa.string())
    ids = pc.binary_join_element_wise(prefix, numbers, ".")
    return table.append_column(pa.field(DLT_ID, pa.string(), nullable=False), ids)
