"""Partitioned exports of warehouse tables to the lake: incremental, and atomic per partition.

Each partition is one Parquet file, `exports/<name>/<key>=<value>/…/part_0.parquet`. A run
fingerprints every partition, rewrites only those whose rows changed since the manifest of the
previous run (and deletes those that emptied), and publishes each one by an atomic replace: a
rename on a local disk, a single PUT on S3. Readers see the old or the new partition, never a
mix; a run cut off mid-way leaves every partition whole, and the next run finishes the job.

The manifest is trusted only as far as the lake agrees with it: a partition is left alone when
its folder holds the one file the manifest recorded (its name and size), and rewritten when that
file is missing, another took its place, or others sit beside it (what a Spark build of the same
models, or a person, leaves). Every other file under `exports/<name>/` is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from runtime.lake_probe import lake_problem
from runtime.progress import Progress
from settings import Settings
from transforms.lake import Lake, LakeUnavailableError

PART_FILE = "part_0.parquet"
# zstd at level 9 rather than DuckDB's default 3: the logs export is 5% smaller, for under a second more
# per million rows written (0.1 to 0.7 s measured). Parquet's v2 encodings would take 1% more off, but
# not every reader has them.
PARQUET = "format parquet, compression zstd, compression_level 9"
MANIFEST_SCHEMA = pa.schema(
    [
        ("partition", pa.string()),
        ("rows", pa.int64()),
        ("fingerprint", pa.string()),
        ("exported_at", pa.timestamp("us")),
        ("file_bytes", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Recorded:
    """What a manifest says of one partition: its rows' fingerprint and the size of the file published
    (None in manifests written before sizes were kept)."""

    fingerprint: str
    file_bytes: int | None = None


@dataclass(frozen=True)
class Export:
    """A table to export: the SQL of its rows and the SQL expression (text) of each partition key.

    By default each partition is a Hive-style folder (`dt=…/hour=…`) holding one Parquet file.
    With `json_file_name` set (an aggregate SQL expression), each partition is a plain folder
    (`23/03/16/07`) holding one gzipped JSON array named by that expression: the seed layout.
    `order_by` sorts each Parquet file's rows: neighbouring values that look alike compress better.
    """

    name: str
    rows_sql: str
    partition_by: Mapping[str, str]
    json_file_name: str | None = None
    order_by: str | None = None


def export_model(dbt, session: duckdb.DuckDBPyConnection, settings: Settings, table: Export) -> pa.Table:
    """An export model's whole job: bring the lake in line with `table`; the model's table is the new manifest."""
    if problem := lake_problem(settings):  # in seconds, where S3's retries of each request would take a minute
        raise LakeUnavailableError(_cannot_write(table, settings, problem))
    lake = Lake.from_settings(settings)
    try:
        return export(session, lake, table, previous_manifest(session, str(dbt.this)))
    except (OSError, TimeoutError) as error:  # s3fs and the local disk raise OSError subclasses
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else 'no answer'}"
        raise LakeUnavailableError(_cannot_write(table, settings, reason)) from error


def _cannot_write(table: Export, settings: Settings, reason: str) -> str:
    return (
        f"cannot write exports/{table.name} to the lake at {settings.lake_url} ({reason}); check LAKE_URL, "
        "AWS_ENDPOINT_URL and the AWS credentials, then run dbt again: partitions written so far are whole"
    )


def previous_manifest(session: duckdb.DuckDBPyConnection, relation: str) -> dict[str, Recorded]:
    """What the last successful run left, by partition (empty on the first run)."""
    try:
        found = session.sql(f"select partition, fingerprint, file_bytes from {relation}").fetchall()
    except duckdb.BinderException:  # a manifest from before file sizes were kept
        found = session.sql(f"select partition, fingerprint, null from {relation}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {partition: Recorded(fingerprint, file_bytes) for partition, fingerprint, file_bytes in found}


def export(session: duckdb.DuckDBPyConnection, lake: Lake, table: Export, previous: Mapping[str, Recorded]) -> pa.Table:
    """Brings `exports/<name>/` in line with `table`; returns the new manifest."""
    keyed = _keyed_rows_sql(table)
    current = {
        partition: (rows, fingerprint)
        for partition, rows, fingerprint in session.sql(
            f"""
            select {_partition_path_sql(table)} as partition, count(*), {_fingerprint_sql()}
            from ({keyed}) as keyed_rows
            group by all
            """
        ).fetchall()
    }
    files = lake.files("exports", table.name)
    in_folder: dict[str, list[str]] = {}
    for name in files:
        in_folder.setdefault(name.rpartition("/")[0], []).append(name)
    changed = sorted(
        partition
        for partition, (_, fingerprint) in current.items()
        if not _as_recorded(table, partition, fingerprint, previous.get(partition), in_folder, files)
    )
    progress = Progress(f"exports/{table.name}: {len(changed)} partition(s)", sum(current[p][0] for p in changed))
    file_bytes = {partition: previous[partition].file_bytes for partition in current.keys() - set(changed)}

    if changed:
        write = _json_files if table.json_file_name else _parquet_files
        with lake.staging(table.name) as staging:
            for partition, file in write(session, staging, table, _rows_of(table, keyed, changed), changed):
                file_bytes[partition] = file.stat().st_size
                lake.publish(file, "exports", table.name, partition, file.name)
                lake.remove_others(file.name, "exports", table.name, partition)
                progress.advance(current[partition][0])
    progress.close()
    # What the lake holds, not only what the last manifest listed: a run killed before dbt saved
    # its manifest may have published partitions that no manifest names, and another engine or a
    # person may have left files anywhere.
    for partition in sorted(in_folder.keys() - current.keys()):
        for name in in_folder[partition]:
            lake.remove_file("exports", table.name, name)
    exported_at = datetime.now(UTC).replace(tzinfo=None)
    return pa.Table.from_pylist(
        [
            {
                "partition": partition,
                "rows": rows,
                "fingerprint": fingerprint,
                "exported_at": exported_at,
                "file_bytes": file_bytes[partition],
            }
            for partition, (rows, fingerprint) in sorted(current.items())
        ],
        schema=MANIFEST_SCHEMA,
    )


def _as_recorded(
    table: Export,
    partition: str,
    fingerprint: str,
    recorded: Recorded | None,
    in_folder: Mapping[str, list[str]],
    files: Mapping[str, int],
) -> bool:
    """Whether the lake holds `partition` as the manifest recorded it: the same rows, in the one file it
    published (a Parquet export's is always `part_0.parquet`; a seed-layout one is named by its rows)."""
    if recorded is None or recorded.fingerprint != fingerprint or len(in_folder.get(partition, [])) != 1:
        return False
    [name] = in_folder[partition]
    if not table.json_file_name and name != f"{partition}/{PART_FILE}":
        return False
    return recorded.file_bytes is None or recorded.file_bytes == files[name]


Written = Iterable[tuple[str, Path]]  # (partition, its file in the staging folder)


def _parquet_files(
    session: duckdb.DuckDBPyConnection, staging: Path, table: Export, rows: str, changed: list[str]
) -> Written:
    """Every changed partition written at once by DuckDB's PARTITION_BY: (partition, its file) for each."""
    order = f" order by {table.order_by}" if table.order_by else ""
    session.execute(
        f"""
        copy ({rows}{order}) to {_quote(str(staging))} (
            {PARQUET}, partition_by ({", ".join(table.partition_by)}),
            filename_pattern 'part_{{i}}'
        )
        """
    )
    return [(partition, staging / partition / PART_FILE) for partition in changed]


def _json_files(
    session: duckdb.DuckDBPyConnection, staging: Path, table: Export, rows: str, changed: list[str]
) -> Written:
    """The seed layout: each changed partition one gzipped JSON array, named by its rows, written as it is reached."""
    columns = ", ".join(table.partition_by)
    for partition in changed:
        partition_rows = (
            f"select * from ({rows}) as changed_rows where {_partition_path_sql(table)} = {_quote(partition)}"
        )
        name = session.sql(f"select {table.json_file_name} from ({partition_rows}) as partition_rows").fetchone()[0]
        file = staging / f"{name}.json.gz"
        session.execute(
            f"copy (select * exclude ({columns}) from ({partition_rows}) as partition_rows) to {_quote(str(file))} "
            "(format json, array true, compression gzip)"
        )
        yield partition, file


def _rows_of(table: Export, keyed: str, partitions: list[str]) -> str:
    wanted = ", ".join(_quote(partition) for partition in partitions)
    return f"select * from ({keyed}) as keyed_rows where {_partition_path_sql(table)} in ({wanted})"


def _keyed_rows_sql(table: Export) -> str:
    keys = ", ".join(f"{expression} as {key}" for key, expression in table.partition_by.items())
    return f"select *, {keys} from ({table.rows_sql}) as source_rows"


def _partition_path_sql(table: Export) -> str:
    """A row's folder: where DuckDB's PARTITION_BY writes it (`dt=2023-03-16/hour=07`), or the seed's `23/03/16/07`."""
    if table.json_file_name:
        parts = [f"coalesce(cast({key} as varchar), 'unknown')" for key in table.partition_by]
    else:
        parts = [
            f"'{key}=' || coalesce(cast({key} as varchar), '__HIVE_DEFAULT_PARTITION__')" for key in table.partition_by
        ]
    return " || '/' || ".join(parts)


def _fingerprint_sql() -> str:
    """Order-independent fingerprint of a partition's rows: changes when any row does."""
    return "count(*) || ':' || bit_xor(hash(keyed_rows)) || ':' || sum(hash(keyed_rows)::hugeint)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
