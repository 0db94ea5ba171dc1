"""`make bench`: the pipeline against the tools people would pick instead, as whole processes, in one run.

Every measurement runs next to its baselines in this same run (min and median of BENCH_REPEATS),
so the ratios hold on a noisy machine even when the seconds do not. Data is generated
deterministically: BENCH_ROWS orders rows in MySQL (BENCH_MYSQL_URL, table `bench_orders`) and as
many encrypted log records. Prints one table and the goals of the performance issue, and writes
`bench/results/<date>-<commit>.json`. `make bench-quick` is the same at 20,000 rows, once.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from cryptography.fernet import Fernet

from bench import data, report
from bench.measure import Measurement, python, repeat
from bench.report import facts, print_table
from bench.workspace import Workspace, count, dbt, expect
from sandbox.mariadb import BINLOG_OPTIONS, throwaway_mariadb
from settings import REPO_ROOT
from transforms.compression_report import compressed_payload

RESULTS = Path(__file__).parent / "results"
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
TABLE = "bench_orders"
ORDER_MODELS = "order_statuses stg_orders_db__orders+"
B6_RECORDS = 100_000
B7_UPDATES = 100_000
B8_RECORDS = 100_000
# Every model both engines build (the poll ledger is not in this data; the report is DuckDB's only).
B8_MODELS = ["--exclude", "stg_log_api__polls", "log_compression_report"]


class Bench:
    def __init__(self, rows: int, repeats: int, mysql_url: str, scratch: Path) -> None:
        self.rows, self.repeats, self.mysql_url, self.scratch = rows, repeats, mysql_url, scratch
        self.measurements: list[Measurement] = []
        self.b8_rows = 0  # order rows + log records B8 builds

    def measure(self, group: str, label: str, argv: list[str], env: dict, before_each=None, times=None) -> Measurement:
        measurement = Measurement(group, label, rows=self.rows)
        self.measurements.append(measurement)
        return repeat(measurement, times or self.repeats, argv, env, REPO_ROOT, before_each)

    def orders_env(self, workspace: Workspace) -> dict[str, str]:
        return workspace.env(ORDERS_DB_URL=self.mysql_url, ORDERS_TABLE=TABLE)

    def b1_orders_first_load(self) -> Workspace:
        print(f"B1: orders first load, {self.rows:,} rows", flush=True)
        data.seed_orders(self.mysql_url, TABLE, self.rows)
        other = Workspace(self.scratch / "b1-baselines")
        source = ["--url", self.mysql_url, "--table", TABLE]
        for name, label in [
            ("mysql-scanner", "DuckDB mysql_scanner CTAS"),
            ("connectorx", "connectorx -> Arrow -> DuckDB"),
            ("dlt-default", "dlt sql_table, default backend, DuckDB only"),
            ("book-csv", "the book's PyMySQL fetchall -> CSV"),
        ]:
            output = other.root / ("orders.csv" if name == "book-csv" else "baseline.duckdb")
            argv = python("-m", "bench.baselines", name, *source, "--output", str(output))
            self.measure("B1", label, argv, other.env(), other.reset)
            if name == "book-csv":
                expect(len(output.read_text().splitlines()), self.rows, label)
            else:
                expect(count(output, "raw.bench_orders" if name == "dlt-default" else "orders"), self.rows, label)
        project = Workspace(self.scratch / "project")
        label = "project: ingestion run --source orders (warehouse + lake)"
        ingest = python("-m", "ingestion", "run", "--source", "orders")
        self.measure("B1", label, ingest, self.orders_env(project), project.reset)
        expect(count(project.warehouse, "raw.orders"), self.rows, label)
        return project

    def b3_incremental(self, project: Workspace) -> None:
        print("B3: ingest + dbt run of the order models: full, no change, 1% new rows", flush=True)
        env = self.orders_env(project)
        self.measure(
            "B3", "dbt run, order models, full", dbt("run", "-s", *ORDER_MODELS.split(), "--full-refresh"), env
        )
        self.measure("B3", "start-up: dbt run of one trivial model", dbt("run", "-s", "order_statuses"), env)
        self.measure("B3", "start-up: importing the loader", python("-c", "import ingestion.runner"), env)
        ingest = python("-m", "ingestion", "run", "--source", "orders")
        self.ingest_then_dbt("no change", ingest, env)

        def one_percent_more() -> None:
            data.change_orders(self.mysql_url, TABLE, 0.01)

        self.ingest_then_dbt("1% new rows", ingest, env, one_percent_more)

    def ingest_then_dbt(self, case: str, ingest: list[str], env: dict, before_each=None) -> None:
        """`make ingest && dbt run`, each process measured, `before_each` before every pair."""
        loads = Measurement("B3", f"ingest, {case}", rows=self.rows)
        builds = Measurement("B3", f"dbt run, order models, {case}", rows=self.rows)
        self.measurements += [loads, builds]
        for _ in range(self.repeats):
            repeat(loads, 1, ingest, env, REPO_ROOT, before_each)
            repeat(builds, 1, dbt("run", "-s", *ORDER_MODELS.split()), env, REPO_ROOT)

    def b7_binlog(self) -> None:
        """ORDERS_CAPTURE=binlog on a throwaway MariaDB logging in ROW format, next to the timestamp mode."""
        updates = min(self.rows, B7_UPDATES)
        print(f"B7: binlog capture of {updates:,} changes; catch-up after 1% changed ({self.rows:,} rows)", flush=True)
        with throwaway_mariadb(self.scratch / "binlog-server", *BINLOG_OPTIONS) as server:
            url = data.create_database(server, "shop")
            data.seed_orders(url, TABLE, self.rows)
            timestamp, binlog = Workspace(self.scratch / "b7-timestamp"), Workspace(self.scratch / "b7-binlog")
            by_timestamp = timestamp.env(ORDERS_DB_URL=url, ORDERS_TABLE=TABLE)
            by_binlog = binlog.env(ORDERS_DB_URL=url, ORDERS_TABLE=TABLE, ORDERS_CAPTURE="binlog")
            ingest = python("-m", "ingestion", "run", "--source", "orders")
            self.measure("B7", "timestamp mode: full extraction", ingest, by_timestamp, timestamp.reset)
            self.measure("B7", "binlog mode: first run (snapshot)", ingest, by_binlog, binlog.reset, times=1)
            self.measure(
                "B7",
                f"binlog mode: capture of {updates:,} changes (in-place updates, deletes, inserts)",
                ingest,
                by_binlog,
                lambda: data.change_rows_in_place(url, TABLE, updates),
            )
            expect(count(binlog.warehouse, "raw.orders_changes"), self.rows + updates * self.repeats, "binlog capture")
            incremental = Measurement("B7", "timestamp mode: incremental run after 1% changed", rows=self.rows)
            catch_up = Measurement("B7", "binlog mode: catch-up after 1% changed", rows=self.rows)
            self.measurements += [incremental, catch_up]
            for _ in range(self.repeats):
                data.change_orders(url, TABLE, 0.01)
                repeat(incremental, 1, ingest, by_timestamp, REPO_ROOT)
                repeat(catch_up, 1, ingest, by_binlog, REPO_ROOT)

    def b8_spark(self, project: Workspace) -> None:
        """The project's models built on DuckDB and on Spark (local, 1 and 2 cores), from the same raw data."""
        records = min(self.rows, B8_RECORDS)
        print(f"B8: every model on DuckDB and on Spark, {self.rows:,} order rows + {records:,} log records", flush=True)
        key = Fernet.generate_key().decode()
        lake = str(project.root / "lake")
        data.load_log_records(project.warehouse, project.root / "pipelines", records, key, lake=lake)
        env = self.orders_env(project) | {"FERNET_KEY": key}
        self.measure("B8", "DuckDB: dbt run --full-refresh", dbt("run", "--full-refresh", *B8_MODELS), env)
        spark = python("-m", "warehouse", "spark", "run")
        for cores in (1, 2):
            self.measure(
                "B8",
                f"Spark local[{cores}]: the same",
                [*spark, "--full-refresh", *B8_MODELS],
                env | {"SPARK_MASTER": f"local[{cores}]"},
            )
        self.measure(
            "B8",
            "Spark start-up: run of one trivial model",
            [*spark, "--select", "order_statuses"],
            env | {"SPARK_MASTER": "local[2]"},
        )
        self.b8_rows = self.rows + records

    def b2_logs(self) -> None:
        print(f"B2: dbt run of logs over {self.rows:,} new records", flush=True)
        workspace = Workspace(self.scratch / "logs")
        workspace.reset()
        key = Fernet.generate_key().decode()
        data.load_log_records(workspace.warehouse, workspace.root / "pipelines", self.rows, key)
        env = workspace.env(FERNET_KEY=key)
        loop = ["--output", str(workspace.warehouse), "--key", key]
        self.measure("B2", "1-core loop: Fernet.decrypt", python("-m", "bench.baselines", "decrypt-loop", *loop), env)
        self.measure(
            "B2",
            "1-core loop: Fernet.decrypt + ast.literal_eval",
            python("-m", "bench.baselines", "decrypt-parse-loop", *loop),
            env,
        )
        self.measure("B2", "project: dbt run -s +logs", dbt("run", "-s", "+logs", "--full-refresh"), env)
        expect(count(workspace.warehouse, "logs"), self.rows, "dbt run -s +logs")

    def b6_export_bytes(self) -> dict:
        records = min(self.rows, B6_RECORDS)
        print(f"B6: bytes of the logs export, {records:,} records", flush=True)
        workspace = Workspace(self.scratch / "b6")
        workspace.reset()
        key = Fernet.generate_key().decode()
        data.load_log_records(workspace.warehouse, workspace.root / "pipelines", records, key)
        env = workspace.env(FERNET_KEY=key)
        self.measure("B6", "dbt run -s +export_logs_manifest", dbt("run", "-s", "+export_logs_manifest"), env, times=1)
        exported = sum(
            path.stat().st_size for path in (workspace.root / "lake" / "exports" / "logs").rglob("*.parquet")
        )
        with duckdb.connect(str(workspace.warehouse), read_only=True) as connection:
            rows = connection.sql(
                "select record_id, logs.payload, compressed.user_id, compressed.method, compress_in_date(logs.in_date) "
                "from logs inner join logs_compressed as compressed using (record_id) order by record_id"
            ).fetchall()
            api_records = connection.sql(
                "select record_id, logtimestamp, data from raw.logs order by record_id"
            ).fetchall()
        seed_json = json.dumps(
            [{"recordId": record_id, **compressed_payload(*fields)} for record_id, *fields in rows], ensure_ascii=False
        ).encode()
        api_json = json.dumps(
            [{"recordId": record_id, "logtimestamp": stamp, "data": token} for record_id, stamp, token in api_records]
        ).encode()
        return {
            "records": len(rows),
            "export_parquet_bytes": exported,
            "gzip_seed_compressed_json_with_ids_bytes": len(gzip.compress(seed_json, mtime=0)),
            "gzip_api_records_json_bytes": len(gzip.compress(api_json, mtime=0)),
            # A random UUID holds 16 bytes that no lossless codec shrinks: the export's floor.
            "record_id_bytes_as_uuids": 16 * len(rows),
        }


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    mysql_url = os.environ.get("BENCH_MYSQL_URL", DEFAULT_MYSQL_URL)
    results_dir = Path(os.environ.get("BENCH_RESULTS_DIR", RESULTS))
    with tempfile.TemporaryDirectory(prefix="elt-bench-") as scratch:
        bench = Bench(rows, repeats, mysql_url, Path(scratch))
        project = bench.b1_orders_first_load()
        bench.b3_incremental(project)
        bench.b7_binlog()
        bench.b8_spark(project)
        bench.b2_logs()
        b6 = bench.b6_export_bytes()
    goals = report.goals(bench.measurements, rows, min(rows, B7_UPDATES), bench.b8_rows, b6)
    print_table(bench.measurements, goals)
    about = facts()
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{datetime.now(UTC):%Y-%m-%d}-{about['commit']}.json"
    result = {"rows": rows, "repeats": repeats, **about, "measurements": [m.as_json() for m in bench.measurements]}
    path.write_text(json.dumps(result | {"b6": b6, "goals": goals}, indent=2) + "\n")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
