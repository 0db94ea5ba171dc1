"""The `spark` target: the same dbt project on Apache Spark (local[2]) over the lake equals the DuckDB build.

The data: the sandbox log API with invalid tokens, records delivered late and malformed elements,
and an orders table with late, tied and duplicate rows, loaded in two rounds. After each round the
DuckDB build (`dbt build`) and the Spark build (`python -m warehouse spark build`, as a user runs
it) must hold the same rows in every model the issue names, and write the same exports. The
Spark tables are Parquet in its warehouse folder; the test reads them, and the exports, with DuckDB.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from runtime.run_lock import HELD_BY_PARENT, run_lock
from sandbox import log_api as sandbox_api
from sandbox import orders_db as shop
from settings import REPO_ROOT, SANDBOX_FERNET_KEY
from tests.workspace import DBT, Workspace
from warehouse.spark import spark_folder

pytestmark = pytest.mark.spark

MODELS = ("logs", "logs_quarantine", "logs_compressed", "orders", "order_status_history")
EXPORTS = {"logs": ("dt", "hour"), "orders": ("dt",)}
START = datetime(2021, 3, 1, 8, 0, 0)


def spark_build(workspace: Workspace, *arguments: str, command: str = "build") -> str:
    """`python -m warehouse spark build …` (or another dbt `command`), as a user runs it; returns its output."""
    folder = str(workspace.folder)
    result = workspace.cli(
        "warehouse", "spark", command, *arguments, "--target-path", f"{folder}/target", "--log-path", folder
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def normalized(value: object) -> object:
    """Spark writes instants (UTC); DuckDB's tables hold naive UTC timestamps: compare them as naive UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def rows(sql: str, warehouse: Path | None = None) -> list[tuple]:
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        if warehouse:
            connection.execute(f"attach '{warehouse}' as warehouse (read_only)")
        found = connection.execute(sql).fetchall()
    return sorted((tuple(normalized(value) for value in row) for row in found), key=repr)


def columns_of(workspace: Workspace, model: str) -> list[str]:
    """The columns of the DuckDB build's `model`, which the Spark build's must match."""
    found = workspace.query(
        "select column_name from information_schema.columns"
        f" where table_schema = 'main' and table_name = '{model}' order by ordinal_position"
    )
    return [name for (name,) in found]


def duckdb_models(workspace: Workspace, models: tuple[str, ...] = MODELS) -> dict[str, list[tuple]]:
    tables = {}
    for model in models:
        names = ", ".join(columns_of(workspace, model))
        tables[model] = rows(f"select {names} from warehouse.main.{model}", workspace.settings.warehouse_path)
    return tables


def spark_models(workspace: Workspace, models: tuple[str, ...] = MODELS) -> dict[str, list[tuple]]:
    """The Spark build's tables, each lake load id replaced by the warehouse's id of the same load."""
    folder = spark_folder(workspace.settings) / "warehouse" / "main.db"
    same_load = warehouse_load_ids(workspace)
    tables = {}
    for model in models:
        names = ", ".join(columns_of(workspace, model))
        found = rows(f"select {names} from read_parquet('{folder / model}/**/*.parquet')")
        tables[model] = sorted((tuple(same_load.get(value, value) for value in row) for row in found), key=repr)
    return tables


def warehouse_load_ids(workspace: Workspace) -> dict[str, str]:
    """The lake's load ids, each to the warehouse's id of the same load: dlt loads the two destinations
    apart, so each has ids of its own, and their n-th loads of a source are the same load.
    """
    by_source = "select schema_name, list(load_id order by load_id) from {} where status = 0 group by all"
    lake = rows(by_source.format(f"read_json('{workspace.settings.lake_url}/raw/_dlt_loads/*.jsonl')"))
    warehouse = rows(by_source.format("warehouse.raw._dlt_loads"), workspace.settings.warehouse_path)
    assert [source for source, _ in lake] == [source for source, _ in warehouse]
    same_load = {}
    for (_, lake_ids), (_, warehouse_ids) in zip(lake, warehouse, strict=True):
        same_load.update(zip(lake_ids, warehouse_ids, strict=True))
    return same_load


def exports(
    workspace: Workspace, load_ids: dict[str, str] | None = None, names: tuple[str, ...] = tuple(EXPORTS)
) -> dict[str, list[tuple]]:
    """Every row of the exports `names` with the partition it is in, as the lake's folders say (load ids
    mapped by `load_ids`)."""
    lake = Path(workspace.settings.lake_url) / "exports"
    assert lake.is_dir(), f"no exports in {lake}"
    found = {}
    for name in names:
        partitions = EXPORTS[name]
        files = f"read_parquet('{lake / name}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
        names = ", ".join([*partitions, *columns_of(workspace, "logs_compressed" if name == "logs" else name)])
        found[name] = sorted(
            (
                tuple((load_ids or {}).get(value, value) for value in row)
                for row in rows(f"select {names} from {files}")
            ),
            key=repr,
        )
    return found


def add_order_rows(engine: sa.Engine, rows_to_add: list[tuple]) -> None:
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [
                {"OrderId": order, "OrderStatus": status, "LastUpdated": updated}
                for order, status, updated in rows_to_add
            ],
        )


@pytest.fixture(scope="module")
def log_api():
    sandbox = sandbox_api.LogApiSandbox(seed=3)
    sandbox.misbehaviour.invalid_token_every = 50
    with sandbox_api.serving(sandbox) as url:
        yield sandbox, url


# Three Spark builds and four DuckDB builds: 270 s in CI on one machine, over 600 s (the suite's limit
# for a hung test) on one 2.4 times slower.
@pytest.mark.timeout(1500)
def test_the_spark_build_equals_the_duckdb_build_row_for_row_and_its_incremental_runs_a_full_refresh(tmp_path, log_api):
    sandbox, url = log_api
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.seed(engine, orders=60)
    sources = {"LOG_API_URL": url, "FERNET_KEY": SANDBOX_FERNET_KEY, "ORDERS_DB_URL": str(engine.url)}
    workspace = Workspace(tmp_path / "project", **sources, SPARK_MASTER="local[2]")
    # The same warehouse, exporting to a lake of its own: each engine's exports are compared apart.
    duckdb_side = Workspace(tmp_path / "project", **sources, LAKE_URL=str(tmp_path / "duckdb-exports"))

    # Round one: records, some with invalid tokens, a malformed element and one without `data`.
    sandbox.misbehaviour.extra_records = [{"recordId": "no-data", "logtimestamp": "20230316070000"}, 42]
    workspace.ingest()
    sandbox.misbehaviour.extra_records = []
    duckdb_side.dbt("build")
    duckdb_round_one, duckdb_exports = duckdb_models(workspace), exports(duckdb_side)
    spark_build(workspace)
    assert spark_models(workspace) == duckdb_round_one
    assert exports(workspace, warehouse_load_ids(workspace)) == duckdb_exports
    assert duckdb_round_one["logs_quarantine"] and duckdb_round_one["order_status_history"]

    # Round two: new and late records; a late order row between two versions, a tie, a duplicate.
    sandbox.advance(timedelta(minutes=5))
    sandbox.misbehaviour.extra_records = [sandbox.late_record(3)]
    shop.advance(engine)
    add_order_rows(
        engine,
        [
            (1, "Processing", START - timedelta(days=400)),
            (2, "Shipped", START),
            (2, "Cancelled", START),
            (3, "Pending", START),
            (3, "Pending", START),
        ],
    )
    workspace.ingest()
    duckdb_side.dbt("build")
    duckdb_round_two, duckdb_exports = duckdb_models(workspace), exports(duckdb_side)
    spark_build(workspace)
    spark_incremental = spark_models(workspace)
    assert spark_incremental == duckdb_round_two
    assert exports(workspace, warehouse_load_ids(workspace)) == duckdb_exports
    assert len(duckdb_round_two["logs"]) > len(duckdb_round_one["logs"])

    spark_build(workspace, "--full-refresh")
    assert spark_models(workspace) == spark_incremental

    # `make spark` then `make build`: DuckDB, whose manifests call every partition current, exports
    # over what Spark wrote (its build had left exports/ empty).
    workspace.dbt("build")
    assert exports(workspace) == exports(duckdb_side)


def test_a_plain_dbt_run_on_the_spark_target_says_which_command_prepares_its_session(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest()

    # From a folder of its own: Spark's default metastore lands in the current folder.
    result = subprocess.run(
        [str(DBT), "run", "--target", "spark", "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)],
        cwd=tmp_path,
        env={**workspace.environment, "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "python -m warehouse spark" in result.stdout
    assert "decryption UDF" in result.stdout


def test_the_spark_command_before_any_ingest_says_to_ingest_first(tmp_path):
    workspace = Workspace(tmp_path)

    result = workspace.cli("warehouse", "spark", "build")

    assert result.returncode != 0
    assert "run `make ingest` first" in result.stderr


def test_quarantined_records_move_into_logs_on_spark_once_the_right_key_is_added(tmp_path):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sandbox = sandbox_api.LogApiSandbox(seed=9, key=new_key)
    with sandbox_api.serving(sandbox) as url:
        wrong_key = Workspace(tmp_path, LOG_API_URL=url, FERNET_KEY=old_key, SPARK_MASTER="local[2]")
        wrong_key.ingest("logs")
    spark_logs = spark_folder(wrong_key.settings) / "warehouse" / "main.db"

    spark_build(wrong_key, "--select", "+logs_quarantine", command="run")
    assert rows(f"select count(*) from read_parquet('{spark_logs}/logs/*.parquet', union_by_name = true)") == [(0,)]
    assert rows(f"select count(*), min(reason) from '{spark_logs}/logs_quarantine/*.parquet'") == [
        (100, "invalid_token")
    ]

    rotated = Workspace(tmp_path, FERNET_KEY=f"{new_key},{old_key}", SPARK_MASTER="local[2]")
    spark_build(rotated, "--select", "+logs_quarantine", command="run")
    assert rows(f"select count(*) from '{spark_logs}/logs/*.parquet'") == [(100,)]
    assert rows(f"select count(*) from '{spark_logs}/logs_quarantine/*.parquet'") == [(0,)]


def test_the_spark_command_waits_for_another_run_and_then_says_who_holds_the_warehouse(tmp_path):
    workspace = Workspace(tmp_path, LOCK_WAIT_SECONDS="0")
    workspace.environment.pop(HELD_BY_PARENT, None)
    workspace.ingest()

    with run_lock(workspace.settings.warehouse_path, "a run the test holds", wait_seconds=0):
        result = workspace.cli("warehouse", "spark", "build")

    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: another run holds the warehouse {workspace.settings.warehouse_path}: ")
    )


def test_orders_captured_from_the_binary_log_build_on_spark_as_on_duckdb(tmp_path, binlog_url):
    """ORDERS_CAPTURE=binlog: Spark replays the captured changes (a snapshot, then inserts, in-place
    updates, deletes and identical rows) into the same orders, history and export as DuckDB."""
    engine = sa.create_engine(binlog_url)
    shop.orders_table().create(engine)
    add_order_rows(engine, [*shop.BOOK_ROWS, (3, "Shipped", START)])
    sources = {"ORDERS_DB_URL": binlog_url, "ORDERS_CAPTURE": "binlog"}
    workspace = Workspace(tmp_path / "project", **sources, SPARK_MASTER="local[2]")
    duckdb_side = Workspace(tmp_path / "project", **sources, LAKE_URL=str(tmp_path / "duckdb-exports"))
    capture = ("ingestion", "run", "--source", "orders")
    assert workspace.cli(*capture).returncode == 0
    with engine.begin() as connection:
        for statement in (
            "insert into Orders values (4, 'Pending', '2020-07-20 09:00:00'), (4, 'Pending', '2020-07-20 09:00:00')",
            "update Orders set OrderStatus = 'Pending' where OrderId = 2",  # in place: LastUpdated unchanged
            "update Orders set OrderStatus = 'Cancelled', LastUpdated = '2020-07-22 10:00:00' where OrderId = 3",
            "delete from Orders where OrderId = 1 and OrderStatus = 'Backordered'",
        ):
            connection.exec_driver_sql(statement)
    assert workspace.cli(*capture).returncode == 0

    # What the orders feed and are fed by, on both engines (the log models are the other test's).
    order_models = ("orders", "order_status_history")
    selected = ("--select", "+orders+", "+order_status_history+")
    duckdb_side.dbt("build", *selected)
    spark_build(workspace, *selected)

    built_by_duckdb = duckdb_models(workspace, order_models)
    assert spark_models(workspace, order_models) == built_by_duckdb
    assert (2, "Pending") in [row[:2] for row in built_by_duckdb["orders"]], "the in-place update"
    exported_by_duckdb = exports(duckdb_side, names=("orders",))
    assert exports(workspace, warehouse_load_ids(workspace), names=("orders",)) == exported_by_duckdb

    # A column added to the source: Spark's raw table holds it too (its lake files now differ in columns).
    with engine.begin() as connection:
        connection.exec_driver_sql("alter table Orders add column Channel varchar(10)")
        connection.exec_driver_sql("insert into Orders values (5, 'Pending', '2020-07-23 09:00:00', 'web')")
    assert workspace.cli(*capture).returncode == 0
    shown = spark_build(
        workspace, "--inline", "select after__order_id, after__channel from raw.orders_changes", command="show"
    )
    assert "| web " in shown, shown
