"""The seed project's layout, `exports/logs_json/YY/MM/DD/HH/<mmssmmm>.json.gz`: one gzipped JSON array
of `logs_compressed` per hour, named by the hour's first record. Off unless `--vars 'export_logs_json: true'`.
"""

from ingestion.settings import Settings
from transforms import lake_export


def model(dbt, session):
    dbt.config(materialized="table")
    table = lake_export.Export(
        name="logs_json",
        rows_sql=dbt.ref("logs_compressed").sql_query(),
        partition_by={
            "yy": "strftime(logged_at, '%y')",
            "mm": "strftime(logged_at, '%m')",
            "dd": "strftime(logged_at, '%d')",
            "hh": "strftime(logged_at, '%H')",
        },
        # <mmssmmm> of the hour's first record
        json_file_name=(
            "strftime(min(logged_at), '%M%S') || lpad(cast(millisecond(min(logged_at)) % 1000 as varchar), 3, '0')"
        ),
    )
    lake = lake_export.Lake.from_settings(Settings.from_env())
    return lake_export.export(session, lake, table, lake_export.previous_manifest(session, str(dbt.this)))
