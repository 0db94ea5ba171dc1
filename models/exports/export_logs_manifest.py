"""Exports `logs_compressed` to `exports/logs/dt=YYYY-MM-DD/hour=HH/part_0.parquet`, by the log's own `inDate` hour.

The table this model leaves is the export's manifest: one row per partition, with the
fingerprint the next run compares against. The work is in `transforms.lake_export`.
"""

from settings import Settings
from transforms.lake_export import Export, export_model


def model(dbt, session):
    table = Export(
        name="logs",
        rows_sql=dbt.ref("logs_compressed").sql_query(),
        partition_by={"dt": "strftime(logged_at, '%Y-%m-%d')", "hour": "strftime(logged_at, '%H')"},
        order_by="logged_at, record_id",
    )
    return export_model(dbt, session, Settings.current(), table)
