"""A dbt-duckdb plugin: with an S3 lake, every dbt session can read it (`read_parquet('s3://…')`,
the analyses, `dbt show`) with the same settings the loader and the exports use.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from settings import Settings


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        secret = Settings.current().duckdb_lake_secret_sql()
        if secret is not None:
            conn.execute("load httpfs")  # installed from its wheel by `make setup`
            conn.execute(secret)
