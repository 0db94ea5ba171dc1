"""`exports/orders/dt=YYYY-MM-DD/part_0.parquet` from `orders`, by the date of `last_updated_at`.

An order whose date moves leaves its old partition, which is rewritten too. The table this
model leaves is the export's manifest; the work is in `transforms.lake_export`.
"""

from ingestion.settings import Settings
from transforms import lake_export


def model(dbt, session):
    dbt.config(materialized="table")
    table = lake_export.Export(
        name="orders",
        rows_sql=dbt.ref("orders").sql_query(),
        partition_by={"dt": "strftime(last_updated_at, '%Y-%m-%d')"},
    )
    lake = lake_export.Lake.from_settings(Settings.from_env())
    return lake_export.export(session, lake, table, lake_export.previous_manifest(session, str(dbt.this)))
