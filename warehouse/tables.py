"""The warehouse's tables as a user sees them: a summary of their rows, and the compression report."""

from __future__ import annotations

import duckdb

from settings import Settings


def tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table and view a user queries; dlt's bookkeeping left out."""
    names = connection.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_schema in ('main', 'raw') and table_name not like '\\_dlt%' escape '\\'
        order by table_schema = 'raw' desc, table_name
        """
    ).fetchall()
    return [
        (schema, name, connection.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
        for schema, name in names
    ]


def summary(settings: Settings) -> str:
    if not settings.warehouse_path.exists():
        return f"no warehouse at {settings.warehouse_path} yet: run `make ingest`"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        rows = tables(connection)
    lines = [f"Warehouse {settings.warehouse_path}:"]
    lines += [
        f"  {f'{schema}.{name}' if schema != 'main' else name:<28} {count:>10,} rows" for schema, name, count in rows
    ]
    lines.append(f"Lake {settings.lake_url}  |  `make sql` opens a SQL shell on the warehouse")
    return "\n".join(lines)


def compression_report(settings: Settings) -> str:
    if not settings.warehouse_path.exists():
        return f"no warehouse at {settings.warehouse_path} yet: run `make all`"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        try:
            rows = connection.execute(
                "select stage, records, bytes, ratio_to_raw_json from log_compression_report order by position"
            ).fetchall()
        except duckdb.CatalogException:
            return "no log_compression_report yet: run `dbt build` (or `make all`)"
    lines = [f"Log compression, measured on the {rows[0][1]:,} most recent records:" if rows else "No log records yet."]
    lines += [f"  {stage:<50} {size:>12,} B  {ratio:>7.1%} of raw JSON" for stage, _, size, ratio in rows]
    return "\n".join(lines)
