"""Exports `orders` to `exports/orders/dt=YYYY-MM-DD/part_0.parquet`, by the date of `last_updated_at`.

An order whose date moves leaves its old partition, which is rewritten too. The table this
model leaves is the export's manifest; the work is in `transforms.lake_export`.
"""

from settings import Settings
from transforms.lake_export import Export, export_model


def model(dbt, session):
    table = Export(
        name="orders",
        rows_sql=dbt.ref("orders").sql_query(),
        partition_by={"dt": "strftime(last_updated_at, '%Y-%m-%d')"},
    )
    return export_model(dbt, session, Settings.current(), table)
