"""Exports to the lake: exact contents, only changed partitions rewritten, never a half-written one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from sandbox import log_api as sandbox_api
from sandbox import orders_db as shop
from settings import REPO_ROOT, Settings
from tests.conftest import S3_KEYS
from tests.readers import s3_client
from tests.workspace import Workspace
from transforms import lake_export
from transforms.lake import Lake, LakeUnavailableError

LOGS_GLOB = "exports/logs/**/*.parquet"
ORDERS_GLOB = "exports/orders/**/*.parquet"


@pytest.fixture
def sources(tmp_path):
    """The sandbox API (moved on by the test) and the book's five orders in SQLite."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    shop.orders_table().create(engine)
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": order, "OrderStatus": status, "LastUpdated": at} for order, status, at in shop.BOOK_ROWS],
        )
    sandbox = sandbox_api.LogApiSandbox(seed=3)
    with sandbox_api.serving(sandbox) as url:
        yield (
            sandbox,
            {"LOG_API_URL": url, "FERNET_KEY": sandbox_api.SANDBOX_FERNET_KEY, "ORDERS_DB_URL": str(engine.url)},
            engine,
        )
    engine.dispose()


def hours_apart_polls(workspace: Workspace, sandbox, hours: int) -> None:
    for _ in range(hours):
        workspace.ingest()
        sandbox.advance(timedelta(hours=1))


def differences(connection: duckdb.DuckDBPyConnection, exported: str, table: str, partition_keys: str) -> list:
    """Rows in one and not the other, both ways (an empty list means equal, duplicates included)."""
    return connection.execute(
        f"""
        (select * exclude ({partition_keys}) from {exported} except all select * from {table})
        union all
        (select * from {table} except all select * exclude ({partition_keys}) from {exported})
        """
    ).fetchall()


def local_exports_match(workspace: Workspace) -> None:
    lake = workspace.settings.lake_url
    with duckdb.connect(str(workspace.settings.warehouse_path), read_only=True) as connection:
        logs = f"read_parquet('{lake}/{LOGS_GLOB}', hive_partitioning = true)"
        orders = f"read_parquet('{lake}/{ORDERS_GLOB}', hive_partitioning = true)"
        assert differences(connection, logs, "logs_compressed", "dt, hour") == []
        assert differences(connection, orders, "orders", "dt") == []
        misplaced = connection.execute(
            f"""
            select count(*) from {logs}
            where dt <> cast(logged_at as date) or cast(hour as integer) <> extract(hour from logged_at)
            """
        ).fetchone()[0]
        assert misplaced == 0
        assert (
            connection.execute(f"select count(*) from {orders} where dt <> cast(last_updated_at as date)").fetchone()[0]
            == 0
        )


def file_stamps(root: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(root)): (path.stat().st_mtime_ns, path.stat().st_ino) for path in root.rglob("*.*")}


def test_the_exports_hold_exactly_the_rows_of_their_tables_in_hive_partitions(tmp_path, sources):
    sandbox, environment, _ = sources
    workspace = Workspace(tmp_path / "project", **environment)
    hours_apart_polls(workspace, sandbox, hours=3)

    workspace.dbt("build")

    local_exports_match(workspace)
    exports = Path(workspace.settings.lake_url) / "exports"
    assert sorted(path.relative_to(exports).as_posix() for path in (exports / "orders").rglob("*.parquet")) == [
        "orders/dt=2020-06-09/part_0.parquet",
        "orders/dt=2020-07-11/part_0.parquet",
        "orders/dt=2020-07-12/part_0.parquet",
    ]
    assert len(list((exports / "logs").glob("dt=*/hour=*/part_0.parquet"))) == 3
    assert not (exports / "_staging").exists()


def test_a_rerun_without_changes_rewrites_nothing(tmp_path, sources):
    sandbox, environment, _ = sources
    workspace = Workspace(tmp_path / "project", **environment)
    hours_apart_polls(workspace, sandbox, hours=2)
    workspace.dbt("build")
    exports = Path(workspace.settings.lake_url) / "exports"
    before = file_stamps(exports)

    workspace.dbt("build")

    assert file_stamps(exports) == before


@pytest.mark.long
def test_a_change_rewrites_only_the_partitions_whose_rows_changed(tmp_path, sources):
    sandbox, environment, engine = sources
    workspace = Workspace(tmp_path / "project", **environment)
    hours_apart_polls(workspace, sandbox, hours=3)
    workspace.dbt("build")
    exports = Path(workspace.settings.lake_url) / "exports"
    before = file_stamps(exports)

    sandbox.advance(timedelta(minutes=-59))  # back into the last polled hour: new records there only
    # Order 1 moves from 2020-06-09 to 2020-07-12: its old partition empties, 2020-07-11 is untouched.
    with engine.begin() as connection:
        connection.execute(
            shop.orders_table().insert(),
            [{"OrderId": 1, "OrderStatus": "Delivered", "LastUpdated": datetime(2020, 7, 12, 15, 0)}],
        )
    workspace.ingest()
    workspace.dbt("build")

    after = file_stamps(exports)
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    newest_hour = max(name for name in before if name.startswith("logs/"))
    assert changed == {newest_hour, "orders/dt=2020-07-12/part_0.parquet"}
    assert set(before) - set(after) == {"orders/dt=2020-06-09/part_0.parquet"}
    assert set(after) - set(before) == set()
    assert not (exports / "orders" / "dt=2020-06-09").exists()
    local_exports_match(workspace)


INTERRUPTED_EXPORT = textwrap.dedent(
    """
    import os, sys
    import duckdb
    from settings import Settings
    from transforms import lake_export
    from transforms.lake import Lake

    published = 0
    publish = Lake.publish

    def publish_then_die(self, *args):
        global published
        publish(self, *args)
        published += 1
        if published == 2:
            os._exit(9)  # the process dies here, as under SIGKILL: no clean-up runs

    Lake.publish = publish_then_die
    connection = duckdb.connect(sys.argv[1])
    table = lake_export.Export("facts", "select * from facts", {"part": "part_key"})
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": sys.argv[2]}))
    lake_export.export(connection, lake, table, lake_export.previous_manifest(connection, "manifest"))
    """
)


def test_an_export_killed_mid_way_leaves_each_partition_whole_and_the_next_run_finishes(tmp_path):
    database, lake_url = tmp_path / "facts.duckdb", tmp_path / "lake"
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": str(lake_url)}))
    facts = lake_export.Export("facts", "select * from facts", {"part": "part_key"})
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "create table facts as select range as id, range % 5 as part_key, 'v1' as version from range(500)"
        )
        connection.register("first_manifest", lake_export.export(connection, lake, facts, {}))
        connection.execute("create table manifest as select * from first_manifest")
        connection.execute("update facts set version = 'v2'")

    killed = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_EXPORT, str(database), str(lake_url)], cwd=tmp_path, capture_output=True
    )

    assert killed.returncode == 9, killed.stderr
    exported = f"read_parquet('{lake_url}/exports/facts/**/*.parquet', hive_partitioning = true)"
    with duckdb.connect() as reader:
        versions = reader.execute(
            f"select part, list_distinct(list(version)), count(*), count(distinct id) from {exported} group by part"
        ).fetchall()
    assert len(versions) == 5
    assert sorted(len(parts) for _, parts, _, _ in versions) == [1] * 5, "a partition mixes old and new rows"
    assert sorted(parts[0] for _, parts, _, _ in versions) == ["v1", "v1", "v1", "v2", "v2"]
    assert all(rows == distinct == 100 for _, _, rows, distinct in versions)

    with duckdb.connect(str(database)) as connection:
        lake_export.export(connection, lake, facts, lake_export.previous_manifest(connection, "manifest"))
        assert connection.execute(
            f"select count(*) filter (where version = 'v2'), count(distinct id) from {exported}"
        ).fetchone() == (500, 500)
    assert not (lake_url / "exports" / "_staging" / "facts").exists()


@pytest.mark.long
def test_exports_land_in_s3_readable_with_duckdb_and_untouched_by_a_rerun(tmp_path, sources, s3_lake):
    sandbox, environment, _ = sources
    workspace = Workspace(tmp_path / "project", **environment, **s3_lake)
    hours_apart_polls(workspace, sandbox, hours=2)
    workspace.dbt("build")

    bucket, prefix = s3_lake["LAKE_URL"].removeprefix("s3://").split("/", 1)
    client = s3_client(s3_lake)

    def objects() -> dict[str, tuple]:
        listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/exports/")
        return {item["Key"]: (item["ETag"], item["LastModified"]) for item in listing.get("Contents", [])}

    before = objects()
    assert len([key for key in before if key.startswith(f"{prefix}/exports/logs/dt=")]) == 2
    assert len([key for key in before if key.startswith(f"{prefix}/exports/orders/dt=")]) == 3
    for key in before:
        grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"], "objects stay private"

    with duckdb.connect(str(workspace.settings.warehouse_path), read_only=True) as connection:
        endpoint = s3_lake["AWS_ENDPOINT_URL"].removeprefix("http://")
        connection.execute(
            f"""
            create secret lake (type s3, key_id 'testing', secret 'testing', region 'us-east-1',
                endpoint '{endpoint}', url_style 'path', use_ssl false)
            """
        )
        exported = f"read_parquet('{s3_lake['LAKE_URL']}/{LOGS_GLOB}', hive_partitioning = true)"
        assert differences(connection, exported, "logs_compressed", "dt, hour") == []
        exported = f"read_parquet('{s3_lake['LAKE_URL']}/{ORDERS_GLOB}', hive_partitioning = true)"
        assert differences(connection, exported, "orders", "dt") == []

    workspace.dbt("build")
    assert objects() == before


def test_dbt_and_the_sql_shell_read_an_s3_lake_with_the_projects_own_settings(tmp_path, sources, s3_lake):
    """With LAKE_URL=s3://…, nobody creates a DuckDB secret by hand: the same settings reach every entry point."""
    sandbox, environment, _ = sources
    workspace = Workspace(tmp_path / "project", **environment, **s3_lake)
    hours_apart_polls(workspace, sandbox, hours=2)
    workspace.dbt("build")
    [(records,)] = workspace.query("select count(*) from logs_compressed")
    exported = f"read_parquet('{s3_lake['LAKE_URL']}/{LOGS_GLOB}', hive_partitioning = true)"

    shown = workspace.dbt("show", "--inline", f"select count(*) as exported_records from {exported}")
    shell = workspace.cli("warehouse", "sql", input=f"select count(*) as exported_records from {exported};")

    assert re.search(rf"\|\s*{records}\s*\|", shown), shown[-2000:]
    assert shell.returncode == 0, shell.stderr
    assert str(records) in shell.stdout, shell.stdout + shell.stderr
    assert S3_KEYS["AWS_SECRET_ACCESS_KEY"] not in shell.stdout + shell.stderr
    assert "Success" not in shell.stdout and "Loading resources" not in shell.stderr, "no output of its set-up"
    assert not (workspace.settings.warehouse_path.parent / ".sql-snapshots").exists() or not any(
        (workspace.settings.warehouse_path.parent / ".sql-snapshots").rglob("*")
    ), "the shell's init file is deleted with its snapshot"


def test_the_seed_json_layout_is_written_when_asked_for(tmp_path, sources):
    sandbox, environment, _ = sources
    workspace = Workspace(tmp_path / "project", **environment)
    hours_apart_polls(workspace, sandbox, hours=2)

    workspace.dbt("build", "--vars", "export_logs_json: true")

    files = sorted((Path(workspace.settings.lake_url) / "exports" / "logs_json").rglob("*.json.gz"))
    assert len(files) == 2
    assert all(len(file.name) == len("mmssmmm.json.gz") for file in files)
    assert files[0].parent.relative_to(files[0].parents[4]).as_posix() == "23/03/16/07"
    with duckdb.connect(str(workspace.settings.warehouse_path), read_only=True) as connection:
        glob = f"{workspace.settings.lake_url}/exports/logs_json/**/*.json.gz"
        exported = connection.execute(f"select count(*), count(distinct record_id) from read_json('{glob}')").fetchone()
        assert exported == connection.execute("select count(*), count(*) from logs_compressed").fetchone()


@pytest.mark.long
def test_every_analysis_compiles_and_answers_on_the_sandbox(tmp_path):
    workspace = Workspace(tmp_path)
    for _ in range(2):
        workspace.ingest()
    workspace.dbt("build")

    workspace.dbt("compile", "--select", "path:analyses")

    compiled = sorted((tmp_path / "target" / "compiled" / "elt_warehouse" / "analyses").glob("*.sql"))
    assert len(compiled) == len(list((REPO_ROOT / "analyses").glob("*.sql"))) >= 7
    for analysis in compiled:
        assert workspace.query(analysis.read_text()), f"{analysis.name} answered nothing"
    readme_table = re.findall(r"^\| `(\w+)` \| ", REPO_ROOT.joinpath("README.md").read_text(), re.MULTILINE)
    in_readme = [name for name in readme_table if (REPO_ROOT / "analyses" / f"{name}.sql").exists()]
    assert sorted(in_readme) == sorted(path.stem for path in compiled)
    for name in in_readme:  # as the README shows it, and with a limit of one's own
        for arguments in (("show", "--select", name), ("show", "--select", name, "--limit", "3")):
            shown = workspace.dbt(*arguments)
            assert f"Previewing node '{name}'" in shown, shown[-2000:]


def test_exports_running_at_once_share_the_staging_folder_without_tripping_over_each_other(tmp_path):
    """dbt runs the logs and orders exports in two threads: each clears its staging while the other writes."""
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": str(tmp_path / "lake")}))
    start, failures = threading.Barrier(2), []

    def export_many_times(name: str) -> None:
        start.wait()
        try:
            for _ in range(300):
                staging = lake.staging_folder(name)
                (staging / "part_0.parquet").write_bytes(b"rows")
                lake.clear_staging(staging)
        except OSError as error:
            failures.append(error)

    threads = [threading.Thread(target=export_many_times, args=(name,)) for name in ("logs", "orders")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert not (tmp_path / "lake" / "exports" / "_staging").exists(), "staging folders were left behind"


def test_a_staging_folder_is_made_even_when_another_export_empties_staging_at_each_step(tmp_path, monkeypatch):
    """The interleaving the test above once met in CI, played step by step through hooks on os.mkdir.

    pathlib's `mkdir(parents=True)` makes `_staging/logs/<id>`, then `_staging/logs`, then `_staging`;
    here the orders export removes `_staging` before the second, makes it before the third and removes
    it again before pathlib checks that it is a folder, which pathlib reports as FileExistsError.
    """
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": str(tmp_path / "lake")}))
    staging = tmp_path / "lake" / "exports" / "_staging"
    other = [lake.staging_folder("orders")]
    real_mkdir, real_is_dir, replaying = os.mkdir, Path.is_dir, [True]
    steps = {
        staging / "logs": lambda: lake.clear_staging(other.pop()),
        staging: lambda: other.append(lake.staging_folder("orders")),
    }

    def mkdir(path, *args, **kwargs):
        step = steps.pop(Path(path), None) if replaying[0] else None
        if step:
            replaying[0] = False
            step()
            replaying[0] = True
        return real_mkdir(path, *args, **kwargs)

    def is_dir(path):
        if replaying[0] and path == staging and other:
            replaying[0] = False
            lake.clear_staging(other.pop())
            replaying[0] = True
        return real_is_dir(path)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(Path, "is_dir", is_dir)
    folder = lake.staging_folder("logs")

    assert steps == {}, "the interleaving was not replayed"
    assert real_is_dir(folder)


def test_a_partition_published_by_a_run_whose_manifest_was_never_saved_is_deleted_once_stale(tmp_path):
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": str(tmp_path / "lake")}))
    orders = lake_export.Export("orders", "select * from orders", {"dt": "strftime(updated_at, '%Y-%m-%d')"})
    with duckdb.connect() as connection:
        connection.execute("create table orders as select 1 as order_id, timestamp '2020-01-05 10:00' as updated_at")
        lake_export.export(connection, lake, orders, {})  # killed before dbt saved this manifest: it is lost
        connection.execute("update orders set updated_at = timestamp '2020-01-09 10:00'")

        manifest = lake_export.export(connection, lake, orders, {})

    assert manifest["partition"].to_pylist() == ["dt=2020-01-09"]
    assert sorted(lake.files("exports", "orders")) == ["dt=2020-01-09/part_0.parquet"]


def test_partitions_another_engine_or_a_person_rewrote_are_written_again_and_nothing_else_is_left(tmp_path):
    """What a Spark build leaves in the export folders (its own part files, `_SUCCESS` at the top) with the same
    rows, a partition file replaced by hand, and a stray copy: the next export publishes every row once."""
    lake_url = tmp_path / "lake"
    lake = Lake.from_settings(Settings.from_env({"LAKE_URL": str(lake_url)}))
    facts = lake_export.Export("facts", "select * from facts", {"part": "part_key"})
    folder = lake_url / "exports" / "facts"
    exported = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
    with duckdb.connect() as connection:
        connection.execute("create table facts as select range as id, range % 4 as part_key from range(400)")
        connection.register("first", lake_export.export(connection, lake, facts, {}))
        connection.execute("create table manifest as select * from first")

        spark_file = folder / "part=0" / "part-00000-3f1e.c000.snappy.parquet"
        (folder / "part=0" / "part_0.parquet").rename(spark_file)
        (folder / "_SUCCESS").touch()
        (folder / "._SUCCESS.crc").write_bytes(b"crc")
        by_hand = folder / "part=1" / "part_0.parquet"
        connection.execute(f"copy (select id from facts where part_key = 1 limit 3) to '{by_hand}'")
        shutil.copy(folder / "part=2" / "part_0.parquet", folder / "part=2" / "part_0 (copy).parquet")
        lake_export.export(connection, lake, facts, lake_export.previous_manifest(connection, "manifest"))

        assert connection.execute(f"select count(*), count(distinct id) from {exported}").fetchone() == (400, 400)
    files = sorted(str(file.relative_to(folder)) for file in folder.rglob("*") if file.is_file())
    assert files == [f"part={part}/part_0.parquet" for part in range(4)]


@pytest.mark.timeout(180)
def test_a_hung_s3_endpoint_fails_an_export_with_one_line_naming_the_settings(tmp_path, hung_endpoint):
    settings = Settings.from_env(
        {**S3_KEYS, "AWS_ENDPOINT_URL": hung_endpoint, "LAKE_URL": "s3://hung-bucket/lake"}, root=tmp_path
    )
    table = lake_export.Export("orders", "select 1 as order_id, date '2020-01-05' as dt", {"dt": "dt"})

    class Model:
        this = "exports.export_orders_manifest"

    with duckdb.connect() as connection, pytest.raises(LakeUnavailableError) as failure:
        lake_export.export_model(Model, connection, settings, table)

    message = str(failure.value)
    assert "\n" not in message
    assert "s3://hung-bucket/lake" in message and "AWS_ENDPOINT_URL" in message
