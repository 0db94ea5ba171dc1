"""The seed project's layout, `exports/logs_json/YY/MM/DD/HH/<mmssmmm>.json.gz`: one gzipped JSON array
of `logs_compressed` per hour, named by the hour's first record. Off unless `--vars 'export_logs_json: true'`.
"""

from settings import Settings
from transforms.lake_export import Export, export_model

FIRST_RECORD_MMSSMMM = (
    "strftime(min(logged_at), '%M%S') || lpad(cast(millisecond(min(logged_at)) % 1000 as varchar), 3, '0')"
)


def model(dbt, session):
    table = Export(
        name="logs_json",
        rows_sql=dbt.ref("logs_compressed").sql_query(),
        partition_by={
            "yy": "strftime(logged_at, '%y')",
            "mm": "strftime(logged_at, '%m')",
            "dd": "strftime(logged_at, '%d')",
            "hh": "strftime(logged_at, '%H')",
        },
        json_file_name=FIRST_RECORD_MMSSMMM,
    )
    return export_model(dbt, session, Settings.current(), table)
