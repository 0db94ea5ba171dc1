"""Statements in the binary log that change the captured table in ways no row event shows.

`TRUNCATE` and `DROP TABLE` remove every row without logging a delete per row, and `RENAME TABLE`
or `CREATE OR REPLACE TABLE` put other rows in its place: replayed, the changes would keep rows the
table no longer has. The capture stops at such a statement instead, with one line saying to take a
new snapshot. (`ALTER TABLE` is fine: columns added, dropped or widened show in the row events that
follow.)
"""

from __future__ import annotations

import re

from ingestion.errors import BinlogError

# Statements whose every table named is replaced or emptied.
_EMPTYING = re.compile(r"^\s*(drop\s+(temporary\s+)?table|truncate(\s+table)?|rename\s+tables?)\s", re.IGNORECASE)
# A table created in place of the captured one (not `IF NOT EXISTS`, which leaves an existing table as it is).
_CREATING = re.compile(r"^\s*create\s+(or\s+replace\s+)?table\s+(?!if\s+not\s+exists)(\S+)", re.IGNORECASE)
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*|#[^\n]*", re.DOTALL)


def replaces_table(query: str, default_schema: str, schema: str, table: str) -> bool:
    """Whether `query`, run with `default_schema` as the current database, empties or replaces `schema`.`table`."""
    text = _COMMENTS.sub(" ", query).replace("`", "").replace('"', "")
    if created := _CREATING.match(text):
        return _names(created.group(2), default_schema, schema, table)
    if _EMPTYING.match(text):
        return _names(text, default_schema, schema, table)
    return False


def _names(text: str, default_schema: str, schema: str, table: str) -> bool:
    """Whether `text` names the table, qualified by its schema or bare while that schema is the current one."""
    for found in re.finditer(rf"(?<![\w$.])(?:([\w$]+)\.)?{re.escape(table)}(?![\w$])", text, re.IGNORECASE):
        named_schema = found.group(1) or default_schema
        if named_schema.lower() == schema.lower():
            return True
    return False


def check_not_replaced(event, database: str, table: str, log_file: str) -> None:
    """Stops at a statement that empties or replaces the table: the log holds no delete for the rows it removes."""
    query = event.query.decode(errors="replace") if isinstance(event.query, bytes) else event.query
    schema = event.schema.decode(errors="replace") if isinstance(event.schema, bytes) else event.schema
    if replaces_table(query, schema or "", database, table):
        raise BinlogError(
            f"`{' '.join(query.split())[:80]}` at {log_file}:{event.packet.log_pos} emptied or replaced {table}, "
            "and the binary log holds no delete for the rows it removed: take a new snapshot with "
            "`python -m ingestion run --source orders --full-refresh`"
        )
