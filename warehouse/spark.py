"""`python -m warehouse spark [dbt arguments]`: the dbt project on Apache Spark, over the lake's raw Parquet.

dbt-spark's `session` method runs dbt's SQL in a SparkSession of this process, and reuses the
session that exists. So this entry point starts that session first and prepares it:

- the lake's raw tables as views in the `raw` schema, each over the files of committed loads only
  (a load that a crash left half-written is not in `_dlt_loads`, so it is not read);
- `decrypt_log_token`, a vectorised (Arrow) UDF running `transforms.log_decryption`, the same code
  the DuckDB build's `logs` model runs, on every executor;

then runs dbt in the same process with `--target spark`. Tables live in a Hive metastore and
warehouse folder next to the DuckDB file (`<WAREHOUSE_PATH folder>/spark/`); the exports go to the
lake as the DuckDB build writes them.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from runtime.run_lock import die_with_parent, run_lock
from settings import REPO_ROOT, ConfigError, Settings
from transforms import log_decryption as decryption

RAW_SCHEMA = "raw"
UDF_NAME = "decrypt_log_token"
# The UDF's result: every column of `transforms.log_decryption.SCHEMA` but the ids it is given.
RESULT_FIELDS = [field for field in decryption.SCHEMA if field.name not in ("record_id", "load_id")]
DEFAULT_MASTER = "local[*]"


def spark_folder(settings: Settings) -> Path:
    """Where the Spark build keeps its tables and metastore: beside the DuckDB warehouse."""
    return settings.warehouse_path.parent / "spark"


def start_session(settings: Settings, master: str | None = None):
    """A SparkSession for the project (`SPARK_MASTER`, default every local core), Hive metastore on disk."""
    from pyspark.logger import PySparkLogger
    from pyspark.sql import SparkSession

    if settings.lake_is_s3:
        raise ConfigError(
            "the spark target reads a local lake here; for an S3 lake run it on a cluster whose Spark "
            "has the hadoop-aws connector (docs/spark.md)"
        )
    # The Python workers run this interpreter, and import `transforms` from the repository.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    folder = spark_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    cores = _cores(master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER)
    builder = (
        SparkSession.builder.master(master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER)
        .appName("elt-warehouse")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={folder / 'metastore'};create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        # A few partitions per core: the default 200 is for clusters. Kept as set, not merged into one
        # because the data is small: the decryption's work is per record, not per byte.
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        # Hadoop's local file system applies its own umask (022 by default): the tables hold decrypted data.
        .config("spark.hadoop.fs.permissions.umask-mode", "077")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
        # A raw table's columns are those of all its files: by default Spark takes one file's, and a
        # column the source gained (in the later loads' files only) would be missing from the table.
        .config("spark.sql.parquet.mergeSchema", "true")
        # An export rewrites its folder in the lake (CTAS over a folder that holds the last export).
        .config("spark.sql.legacy.allowNonEmptyLocationInCTAS", "true")
        .enableHiveSupport()
    )
    session = builder.getOrCreate()
    # dbt reports a failed query once, in its own words: not Spark's log lines and stack traces too.
    session.sparkContext.setLogLevel("OFF")
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    return session


def _cores(master: str) -> int:
    """The cores a `local[N]` master uses (N, or all of them for `*`); 2 for anything else."""
    if master.startswith("local[") and master.endswith("]"):
        count = master[len("local[") : -1].split(",")[0]
        return os.cpu_count() or 1 if count == "*" else int(count)
    return 1 if master == "local" else 2


def register_lake_sources(session, settings: Settings) -> list[str]:
    """Creates or replaces `raw.<table>` over the lake's raw Parquet of committed loads; returns the tables."""
    raw = Path(settings.lake_url) / "raw"
    loads_folder = raw / "_dlt_loads"
    session.sql(f"create database if not exists {RAW_SCHEMA}")
    if not loads_folder.is_dir():
        return []
    committed = session.read.json(str(loads_folder)).where("status = 0").select("load_id").distinct()
    committed.createOrReplaceTempView("committed_loads")
    loads = sorted(row.load_id for row in committed.collect())
    tables = sorted(
        folder.name
        for folder in raw.iterdir()
        if folder.is_dir() and not folder.name.startswith("_") and any(folder.glob("*.parquet"))
    )
    listed = ", ".join(_sql_text(load) for load in loads) or "null"
    for table in tables:
        session.sql(
            f"create or replace view {RAW_SCHEMA}.{table} as "
            f"select * from parquet.`{raw / table}` where _dlt_load_id in ({listed})"
        )
    return tables


def register_decryption(session, keys: list[str]) -> None:
    """Registers `decrypt_log_token(record_id, token, load_id)`: a struct of the typed fields, or a `reason`."""
    from pyspark.sql.functions import arrow_udf

    decryption.multi_fernet(keys)  # a malformed key fails here, once
    result_type = ", ".join(f"{field.name}: {_spark_type(field.type)}" for field in RESULT_FIELDS)

    @arrow_udf(f"struct<{result_type}>")
    def decrypt_log_token(record_ids: pa.Array, tokens: pa.Array, load_ids: pa.Array) -> pa.Array:
        batch = decryption.decrypt_rows(record_ids.to_pylist(), tokens.to_pylist(), load_ids.to_pylist(), keys=keys)
        return pa.StructArray.from_arrays(
            [batch.column(field.name) for field in RESULT_FIELDS], fields=list(RESULT_FIELDS)
        )

    session.udf.register(UDF_NAME, decrypt_log_token)


def _spark_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"  # the session's time zone is UTC: the same instants as the DuckDB build's
    return {pa.string(): "string", pa.int64(): "bigint"}[arrow_type]


def _sql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_dbt(arguments: Sequence[str], settings: Settings | None = None, master: str | None = None) -> int:
    """`dbt <arguments> --target spark` in a prepared session, holding the run lock; dbt's exit code."""
    from dbt.cli.main import dbtRunner

    die_with_parent()  # `make spark` killed: this dies too, and the kernel frees the lock
    settings = settings or Settings.from_env()
    arguments = list(arguments) or ["build"]
    if "--target" not in arguments and "-t" not in arguments:
        arguments += ["--target", "spark"]
    for option in ("--project-dir", "--profiles-dir"):
        if option not in arguments:
            arguments += [option, str(REPO_ROOT)]
    settings.prepare_warehouse_folder()
    os.environ["LAKE_URL"] = settings.lake_url  # absolute: the export models' location in the lake
    with run_lock(
        settings.warehouse_path, "python -m warehouse spark " + shlex.join(arguments), settings.lock_wait_seconds
    ):
        session = start_session(settings, master)
        if not register_lake_sources(session, settings):
            raise ConfigError(f"the lake at {settings.lake_url} holds no loaded tables yet: run `make ingest` first")
        register_decryption(session, settings.fernet_keys)
        result = dbtRunner().invoke(arguments)
    if result.exception is not None and not result.success:
        print(f"error: {result.exception}", file=sys.stderr)
    return 0 if result.success else 1
