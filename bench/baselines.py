"""The tools people would pick instead, each as a whole process: `python -m bench.baselines <name> …`.

- `mysql-scanner`: DuckDB reading MySQL itself (`CREATE TABLE … AS SELECT * FROM mysql.<table>`).
- `connectorx`: connectorx into Arrow, then DuckDB.
- `dlt-default`: dlt's `sql_table` with its default (SQLAlchemy) backend, into DuckDB only.
- `book-csv`: the book's script (chapter 4): PyMySQL `fetchall`, then a pipe-delimited CSV file.
- `decrypt-loop` / `decrypt-parse-loop`: one core, `Fernet.decrypt` of every token of a warehouse's
  `raw.logs` (and `ast.literal_eval` of each plaintext).
"""

from __future__ import annotations

import argparse
import ast
import csv
from pathlib import Path

import sqlalchemy as sa


def mysql_scanner(url: sa.URL, table: str, warehouse: Path) -> None:
    import duckdb

    connection = duckdb.connect(str(warehouse))
    connection.execute("load mysql_scanner")
    where = f"host={url.host} port={url.port or 3306} user={url.username} database={url.database}"
    if url.password:
        where += f" password={url.password}"
    connection.execute(f"attach '{where}' as source (type mysql, read_only)")
    connection.execute(f"create table orders as select * from source.{table}")


def connectorx(url: sa.URL, table: str, warehouse: Path) -> None:
    import connectorx as cx
    import duckdb

    rows = cx.read_sql(_plain_mysql_url(url), f"select * from {table}", return_type="arrow")
    connection = duckdb.connect(str(warehouse))
    connection.register("source_rows", rows)
    connection.execute("create table orders as select * from source_rows")


def dlt_default(url: sa.URL, table: str, warehouse: Path) -> None:
    import dlt
    from dlt.sources.sql_database import sql_table

    pipeline = dlt.pipeline(
        "bench_dlt_default",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="raw",
        pipelines_dir=str(warehouse.parent / "dlt-default-pipelines"),
    )
    pipeline.run(sql_table(credentials=url.render_as_string(hide_password=False), table=table))


def book_csv(url: sa.URL, table: str, output: Path) -> None:
    import pymysql

    connection = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", db=url.database
    )
    cursor = connection.cursor()
    cursor.execute(f"SELECT * FROM {table};")
    results = cursor.fetchall()
    with open(output, "w", newline="") as file:
        csv.writer(file, delimiter="|").writerows(results)
    cursor.close()
    connection.close()


def decrypt_loop(warehouse: Path, key: str, parse: bool) -> None:
    import duckdb
    from cryptography.fernet import Fernet

    tokens = [
        row[0] for row in duckdb.connect(str(warehouse), read_only=True).sql("select data from raw.logs").fetchall()
    ]
    fernet = Fernet(key)
    for token in tokens:
        text = fernet.decrypt(token.encode()).decode()
        if parse:
            ast.literal_eval(text)


def _plain_mysql_url(url: sa.URL) -> str:
    credentials = url.username + (f":{url.password}" if url.password else "")
    return f"mysql://{credentials}@{url.host}:{url.port or 3306}/{url.database}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines")
    parser.add_argument(
        "name", choices=["mysql-scanner", "connectorx", "dlt-default", "book-csv", "decrypt-loop", "decrypt-parse-loop"]
    )
    parser.add_argument("--url")
    parser.add_argument("--table")
    parser.add_argument("--output", type=Path, required=True, help="the DuckDB file (or CSV file) written or read")
    parser.add_argument("--key")
    args = parser.parse_args()
    if args.name in ("decrypt-loop", "decrypt-parse-loop"):
        decrypt_loop(args.output, args.key, parse=args.name == "decrypt-parse-loop")
        return
    url = sa.make_url(args.url)
    {"mysql-scanner": mysql_scanner, "connectorx": connectorx, "dlt-default": dlt_default, "book-csv": book_csv}[
        args.name
    ](url, args.table, args.output)


if __name__ == "__main__":
    main()
