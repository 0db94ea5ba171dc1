"""A dbt-duckdb plugin: every dbt session can ask whether FERNET_KEY opens the log records.

It registers `fernet_key_problem()`, which returns why the keys cannot be used (FERNET_KEY missing
with a real log API, or a value that is not a Fernet key), or '' when they can. The decrypting
models check it first (`require_fernet_key`), so a missing key fails them with that one line, not
with a Python traceback. The key itself never reaches dbt's Jinja, so it is kept out of dbt's
artifacts.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from settings import ConfigError, Settings
from transforms import log_decryption


def fernet_key_problem() -> str:
    try:
        log_decryption.multi_fernet(Settings.current().fernet_keys)
    except ConfigError as error:
        return str(error)
    return ""


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function("fernet_key_problem", fernet_key_problem, [], "VARCHAR", side_effects=True)
