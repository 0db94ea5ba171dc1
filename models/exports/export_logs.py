"""`exports/logs/dt=YYYY-MM-DD/hour=HH/part_0.parquet` from `logs_compressed`, by the log's own `inDate` hour.

The table this model leaves is the export's manifest (one row per partition, with the
fingerprint the next run compares against). The work is in `transforms.lake_export`.
"""

from ingestion.settings import Settings
from transforms import lake_export


def model(dbt, session):
    dbt.config(materialized="table")
    table = lake_export.Export(
        name="logs",
        rows_sql=dbt.ref("logs_compressed").sql_query(),
        partition_by={"dt": "strftime(logged_at, '%Y-%m-%d')", "hour": "strftime(logged_at, '%H')"},
    )
    lake = lake_export.Lake.from_settings(Settings.from_env())
    return lake_export.export(session, lake, table, lake_export.previous_manifest(session, str(dbt.this)))
