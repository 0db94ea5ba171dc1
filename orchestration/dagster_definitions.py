"""The pipeline under Dagster: `pip install '.[dagster]'`, then `dagster dev -m orchestration.dagster_definitions`.

- Ingestion as assets: one multi-asset per source, whose asset keys are the dbt sources' own
  (`log_api/logs`, `orders_db/orders`, …), so Dagster draws each dbt model downstream of its load.
- The dbt project through dagster-dbt: every model, test, unit test and export is an asset or a check,
  built by `dbt build`.
- A schedule (`SCHEDULE_CRON`, default hourly) materializing all of it.
- The same run lock as `make schedule` and the command line: the ingestion assets take it, and dbt
  takes it itself (its profile's plugin), so a Dagster run never overlaps another run.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotations at run time.
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ingestion import runner
from ingestion.sandboxes import sources_or_sandboxes
from runtime.entry_point import keep_files_private
from runtime.run_lock import run_lock
from settings import REPO_ROOT, Settings
from settings.sources import SOURCES

# A target folder of its own: Dagster's manifest never races the command line's `target/`.
DBT_PROJECT = DbtProject(project_dir=REPO_ROOT, target_path=Path("target") / "dagster")
# The dbt next to this Python: the venv need not be on PATH (under `make`, cron or systemd it is not).
DBT = str(Path(sys.executable).parent / "dbt")
# What the manifest is parsed from: a model added since (a `git pull`) must not be missing from it.
DBT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "data_tests", "analyses")


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    parsed = manifest.stat().st_mtime
    files = [path for name in DBT_SOURCES for path in [REPO_ROOT / name, *(REPO_ROOT / name).rglob("*")]]
    return any(path.is_file() and path.stat().st_mtime > parsed for path in files)


if _manifest_is_stale(DBT_PROJECT.manifest_path) or DBT_PROJECT.preparer.using_dagster_dev():
    # `dbt parse`: the manifest dagster-dbt reads the models from
    subprocess.run([DBT, "parse", "--quiet", "--target-path", str(DBT_PROJECT.target_path)], cwd=REPO_ROOT, check=True)


def _ingestion(source: str) -> dg.AssetsDefinition:
    dbt_source, tables = SOURCES[source].dlt_name, SOURCES[source].raw_tables

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=[dg.AssetSpec([dbt_source, table], group_name="ingestion", kinds={"dlt"}) for table in tables],
        description=f"`python -m ingestion run --source {source}`: extract and load {source}, unchanged.",
    )
    def ingest(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        keep_files_private()
        settings = Settings.from_env()
        settings.prepare_warehouse_folder()
        with (
            run_lock(settings.warehouse_path, f"dagster: ingest {source}", settings.lock_wait_seconds),
            sources_or_sandboxes(settings, (source,)) as settings,
        ):
            report = runner.run(settings, (source,))
            runner.save_last_runs(settings, report)
        context.log.info(report.summary())
        if not report.ok:
            raise dg.Failure(description="; ".join(report.errors))
        rows = report.source_runs()[source]["rows"]
        for table in tables:
            metadata = {f"new rows ({name})": count for name, count in rows.items()} if table == source else {}
            yield dg.MaterializeResult(asset_key=[dbt_source, table], metadata=metadata)

    return ingest


# Every dbt data test is an asset check: a test of a model checks that model; a source's test checks the load
# it tests (the ingestion assets carry the sources' keys); a singular test of several models names the one
# it checks in its `meta.dagster.ref`.
CHECKS = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=CHECKS)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    yield from dbt.cli(["build"], context=context).stream()


ASSETS = [_ingestion("logs"), _ingestion("orders"), dbt_models]
ELT = dg.define_asset_job("elt", selection=dg.AssetSelection.all())

defs = dg.Definitions(
    assets=ASSETS,
    # One step at a time: the steps share one run lock, and a step waits for it only LOCK_WAIT_SECONDS.
    executor=dg.in_process_executor,
    jobs=[ELT],
    schedules=[dg.ScheduleDefinition(job=ELT, cron_schedule=os.environ.get("SCHEDULE_CRON", "0 * * * *"))],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT)},
)
