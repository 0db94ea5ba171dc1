"""dlt's extract, normalize and load per destination, exactly once: packages an earlier run left go first,
one that fails for good is moved aside, rows a re-run job appended are dropped, load ids always grow."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dlt
import dlt.common.time as dlt_time
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema.exceptions import DataValidationError
from dlt.load.exceptions import LoadClientJobFailed
from dlt.sources import DltSource

from ingestion.destinations import DATASET, DestinationError, Target, check_lake, working_folder
from ingestion.errors import WAITS, SourceError, is_native_panic, root_cause
from ingestion.progress import dlt_progress, say
from ingestion.report import Outcome
from settings import Settings

# A clock behind the newest load by more than this is worth a warning (NTP corrects small drifts quietly).
CLOCK_WARNING_SECONDS = 60


def pipeline_for(settings: Settings, target: Target) -> dlt.Pipeline:
    """The dlt pipeline that loads into `target` (its state and packages in the destination's own folder)."""
    folder = working_folder(settings, target)
    _move_from_shared_folder(settings.pipelines_dir, folder, f"elt_{target.name}")
    return dlt.pipeline(
        pipeline_name=f"elt_{target.name}",
        destination=target.destination,
        dataset_name=DATASET,
        pipelines_dir=str(folder),
        progress=dlt_progress(),
    )


def _move_from_shared_folder(pipelines_dir: Path, folder: Path, name: str) -> None:
    """Moves what an earlier version kept for every location at once (`<PIPELINES_DIR>/<name>`) into `folder`.

    That earlier layout belongs to the destination the settings named then, taken to be the current one.
    """
    shared = [pipelines_dir / name, pipelines_dir / "failed_packages" / name]
    if folder.exists() or not any(path.exists() for path in shared):
        return
    folder.mkdir(parents=True)
    for path in shared:
        if path.exists():
            (folder / path.relative_to(pipelines_dir)).parent.mkdir(parents=True, exist_ok=True)
            path.rename(folder / path.relative_to(pipelines_dir))


def extract_then_load(
    pipelines: dict[str, dlt.Pipeline],
    destinations: list[Target],
    name: str,
    make_source: Callable[[dlt.Pipeline, list[dlt.Pipeline]], DltSource],
    refresh: str | None,
) -> Outcome:
    """Extracts into every destination's pipeline first, then loads each; what each loaded, what went wrong.

    An extracted package is kept on disk until its destination has it, so a destination that
    fails now (or a run killed mid-way) gets the same rows on the next run, in order.
    """
    extracted, outcome = [], Outcome()
    for target in destinations:
        pipeline = pipelines[target.name]
        try:
            source = make_source(pipeline, [pipelines[done.name] for done in extracted])
            pipeline.extract(source, refresh=refresh, loader_file_format=target.loader_file_format)
            extracted.append(target)
        except SourceError as error:
            outcome.errors.append(f"{name} -> {target.name}: {error}")
        except Exception as error:  # noqa: BLE001 (reported; the other destination still loads)
            if changed := _changed_type(error):
                outcome.errors.append(f"{name} -> {target.name}: {changed}")
                continue
            outcome.errors.append(f"{name} -> {target.name}: {root_cause(error)}; {WAITS}")
        except BaseException as error:
            if not is_native_panic(error):
                raise
            outcome.errors.append(f"{name} -> {target.name}: the read failed ({root_cause(error)}); {WAITS}")
    for target in extracted:
        pipeline = pipelines[target.name]
        say(f"{name} -> {target.name}: loading")
        if error := _normalize_and_load(pipeline, target, name):
            outcome.errors.append(error)
            continue
        counts = pipeline.last_trace.last_normalize_info.row_counts
        # orders in binlog mode land in `orders_changes`
        outcome.rows[(name, target.name)] = counts.get(name, 0) + counts.get(f"{name}_changes", 0)
        outcome.rejected[(name, target.name)] = counts.get(f"{name}_rejected", 0)
    return outcome


def takes_this_run(settings: Settings, pipeline: dlt.Pipeline, target: Target) -> tuple[bool, Outcome]:
    """Whether `target` takes this run's data (it answers, and has loaded what earlier runs left), and what
    finishing the earlier runs' loads did.

    A destination that does not is left out of this run, so that one that is down costs seconds and
    stops nothing else: its copy of each log poll waits on disk (`waiting_polls`), and its orders are
    read again from where it stopped.
    """
    if target.name == "lake":
        try:
            check_lake(settings)
        except DestinationError as error:
            return False, Outcome(errors=[f"lake: {error}; {WAITS}"])
    folder = working_folder(settings, target)
    elsewhere = any(other != folder for other in settings.pipelines_dir.glob(f"{target.name}-*"))
    return _finish_earlier_loads(pipeline, target, elsewhere)


def continue_load_ids(pipelines: list[dlt.Pipeline]) -> list[str]:
    """Makes this run's load ids larger than every load id these pipelines have made, whatever the clock says.

    dlt names a package by the wall clock when it is extracted, and relies on those names growing: it
    loads packages in their order, and takes back the state of the largest when PIPELINES_DIR is gone.
    A clock stepped back (NTP, a resumed VM, another host) would write smaller names; they continue
    from the newest load instead, and the run warns (the warning returned).
    """
    newest = max((_newest_load_id(pipeline) for pipeline in pipelines), default=0.0)
    behind = newest - time.time()
    if behind <= 0:
        return []
    dlt_time.increasing_precise_time._last = max(dlt_time.increasing_precise_time._last, newest)
    if behind <= CLOCK_WARNING_SECONDS:
        return []
    return [
        f"this machine's clock is {behind:,.0f} s behind the newest load "
        f"({datetime.fromtimestamp(newest, UTC):%Y-%m-%d %H:%M:%S} UTC): this run's load ids continue after it, "
        "so nothing is loaded out of order; set the clock right (NTP)"
    ]


def _newest_load_id(pipeline: dlt.Pipeline) -> float:
    """The largest load id among the pipeline's packages on disk and the loads its destination holds."""
    local = [
        *pipeline.list_extracted_load_packages(),
        *pipeline.list_normalized_load_packages(),
        *pipeline.list_completed_load_packages(),
    ]
    try:
        with pipeline.sql_client() as client:
            [(loaded,)] = client.execute_sql(
                f"select max(load_id) from {client.make_qualified_table_name(pipeline.default_schema.loads_table_name)}"
            )
    except Exception:  # noqa: BLE001 (nothing loaded there yet, or no schema: only the local packages count)
        loaded = None
    return max((float(load_id) for load_id in [*local, loaded] if load_id), default=0.0)


def _finish_earlier_loads(pipeline: dlt.Pipeline, target: Target, elsewhere: bool = False) -> tuple[bool, Outcome]:
    """Loads the packages an earlier run left, then takes the destination's state if it is newer than ours.

    A run killed after writing a package but before saving its state leaves the newer state in the
    package only; once loaded, `sync_destination` brings it back, so the rows are not read twice.
    A new destination (no dataset yet) starts with a state of its own: dlt drops the local one. So
    does one recreated or emptied since it last loaded, even with a load pending for it (that load
    would recreate the dataset and hide that it is new). `elsewhere`: this machine has loaded into
    another location of this destination. False when the packages could not all be loaded.
    """
    outcome = Outcome()
    if pipeline.has_pending_data and pipeline.list_completed_load_packages() and _emptied(pipeline):
        say(f"{target.name}: holds nothing now, though it was loaded before: its pending load is dropped")
        pipeline.abort_packages()
    if pipeline.has_pending_data:
        say(f"{target.name}: a load an earlier run left unfinished goes first")
        if error := _normalize_and_load(pipeline, target, "an earlier run"):
            return False, Outcome(errors=[error])
        outcome.completed_earlier.add(target.name)
    loaded_before = bool(pipeline.state.get("sources"))
    try:
        pipeline.sync_destination()
    except Exception as error:  # noqa: BLE001 (the destination may be down: this run's data waits on disk)
        say(f"{target.name}: its state could not be read back ({root_cause(error)})")
        return True, outcome
    if (loaded_before or elsewhere) and not pipeline.state.get("sources"):
        where = (
            "there before (recreated or emptied?)"
            if loaded_before
            else "elsewhere before (WAREHOUSE_PATH or LAKE_URL changed?)"
        )
        outcome.notes.append(
            f"{target.name} at {target.where.format(table='…')} holds nothing loaded yet, though this machine has "
            f"loaded {where}: it starts a complete load of its own. "
            "Log records the API no longer serves cannot be fetched again: they stay where they were loaded"
        )
    return True, outcome


def _emptied(pipeline: dlt.Pipeline) -> bool:
    """Whether the destination holds no dataset at all (recreated or emptied); False when it cannot be asked."""
    try:
        with pipeline.destination_client() as client:
            return not client.is_storage_initialized()
    except Exception:  # noqa: BLE001 (down: its pending load waits, as for any other failure)
        return False


def _normalize_and_load(pipeline: dlt.Pipeline, target: Target, name: str) -> str | None:
    """Normalizes and loads every pending package; None when the destination has them all, else what failed.

    A package whose data cannot be normalized, or that the destination refuses for good, is moved aside
    (it would fail the same way on every run). One that failed for a reason of this machine's (a full
    disk, a folder it may not write) or that the destination could not take now stays for the next run.
    """
    try:
        pipeline.normalize()
    except Exception as error:  # noqa: BLE001 (sorted: the machine's fault waits, the data's is moved aside)
        if _machine_fault(error):
            return f"{name} -> {target.name}: {root_cause(error)} (kept; the next run loads it first)"
        return _move_aside(pipeline, target, name, error)
    try:
        info = pipeline.load()
    except Exception as error:  # noqa: BLE001 (reported; the package stays on disk for the next run)
        if _refused_for_good(error):
            return _move_aside(pipeline, target, name, error)
        return f"{name} -> {target.name}: {root_cause(error)} (kept; the next run loads it first)"
    if target.retried_job_appends_again and info.loads_ids:
        _drop_rows_loaded_twice(pipeline, info.loads_ids)
    return None


def _drop_rows_loaded_twice(pipeline: dlt.Pipeline, load_ids: list[str]) -> None:
    """Keeps one row per `_dlt_id` among the rows of `load_ids`: a job re-run after a kill inserted its rows again.

    Only the packages just loaded can hold such rows, so only their rows are looked at.
    """
    loads = ", ".join(["%s"] * len(load_ids))
    tables = {table for schema in pipeline.schemas.values() for table in schema.data_table_names()}
    with pipeline.sql_client() as client:
        for table in sorted(tables):
            name = client.make_qualified_table_name(table)
            client.execute_sql(
                f"""
                delete from {name}
                where _dlt_load_id in ({loads})
                    and rowid not in (select min(rowid) from {name} where _dlt_load_id in ({loads}) group by _dlt_id)
                """,
                *load_ids,
                *load_ids,
            )


def _move_aside(pipeline: dlt.Pipeline, target: Target, name: str, error: Exception) -> str:
    """Copies the pending packages out of dlt's way, under `<PIPELINES_DIR>/failed_packages/`, and aborts them;
    the error line that says so (or that they could not be moved, and stay)."""
    kept = Path(pipeline.pipelines_dir) / "failed_packages" / pipeline.pipeline_name
    try:
        for load_id in [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]:
            for folder in Path(pipeline.working_dir).rglob(load_id):
                if folder.is_dir():
                    shutil.copytree(folder, kept / load_id, dirs_exist_ok=True)
    except OSError as copy_error:  # a full disk, say: the package stays where it is, for the next run
        why = copy_error.args[0][0][2] if isinstance(copy_error, shutil.Error) else copy_error.strerror
        return (
            f"{name} -> {target.name}: {root_cause(error)}; the package could not be moved aside to {kept} "
            f"({why}), so it is kept and the next run tries it again"
        )
    pipeline.abort_packages()
    return (
        f"{name} -> {target.name}: a load package failed for good ({root_cause(error)}); it was moved aside to "
        f"{kept} and later runs go on without it: inspect it there, fix the cause, then delete the folder"
    )


def _changed_type(error: BaseException | None) -> str | None:
    """What to do when a source column's type changed under a raw table (the schema contract freezes types)."""
    while error is not None and not isinstance(error, DataValidationError):
        error = error.__cause__ or error.__context__
    if error is None or error.schema_entity != "data_type":
        return None
    existing = (error.table_schema or {}).get("columns", {}).get(error.column_name, {}).get("data_type", "another type")
    return (
        f"the source's column {error.column_name} changed type, and raw.{error.table_name} holds it as {existing}: "
        "both destinations refuse the new rows rather than hold two types (the cursor does not move). Change the "
        "column back, or reload the table with its new type: `python -m ingestion run --source orders --full-refresh`"
    )


def _machine_fault(error: BaseException | None) -> bool:
    """Whether the operating system refused (OSError: no space, no permission, an I/O error), not the data."""
    while error is not None:
        if isinstance(error, OSError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _refused_for_good(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, DestinationTerminalException | LoadClientJobFailed):
            return True
        error = error.__cause__ or error.__context__
    return False
