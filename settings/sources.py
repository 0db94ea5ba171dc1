"""The two sources, named once: the loader's name, dlt's (also dbt's source), the raw tables, the newest record.

`python -m ingestion run --source logs` loads dlt's source `log_api` into `raw.logs`, `raw.logs_rejected`
and `raw.log_api_polls`; dbt reads them as `source('log_api', …)`. `status`, Dagster's assets and the
freshness verdicts all take the names from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  # the loader's name for it: `--source logs`
    dlt_name: str  # dlt's source and schema, and dbt's source
    raw_tables: tuple[str, ...]
    # The table holding its records, and the SQL of the column whose largest value is its newest record;
    # orders in binlog mode land as changes. A `logtimestamp` that is not a time (loaded before the raw
    # boundary refused such records) is left out, as the staging model leaves it out.
    newest: tuple[str, str]
    newest_captured: tuple[str, str] | None = None

    def newest_record(self, orders_capture: str) -> tuple[str, str]:
        """(table, column) of the newest record, for the capture mode in use."""
        return self.newest_captured if orders_capture == "binlog" and self.newest_captured else self.newest


LOGS = Source(
    "logs",
    "log_api",
    ("logs", "logs_rejected", "log_api_polls"),
    ("logs", "try_strptime(logtimestamp, '%Y%m%d%H%M%S')"),
)
ORDERS = Source(
    "orders", "orders_db", ("orders",), ("orders", "last_updated"), ("orders_changes", "after__last_updated")
)
SOURCES = {source.name: source for source in (LOGS, ORDERS)}
