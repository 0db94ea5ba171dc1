"""`python -m tests.faults <step> [arguments]`: a run killed (SIGKILL) at `step`.

For the loader's steps the arguments are those of `python -m ingestion run`; for `dbt-…` steps,
those of `dbt`. Each step is a point where a crash is worst: the hook wraps the tool's own method
there and kills the process before or after it, so the kill lands at exactly that point every time.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time

from dbt.adapters.duckdb.environments.local import DuckDBCursorWrapper
from dlt.common.storages.load_storage import LoadStorage
from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob
from dlt.destinations.impl.filesystem.filesystem import FilesystemLoadJob
from dlt.extract.extract import Extract

from ingestion.cli import main
from transforms.lake import Lake

STEPS = {
    # rows written to the new package, which is not committed yet
    "during-extract": (Extract, "commit_packages", "before"),
    # the package committed, the pipeline state not saved yet
    "between-package-and-state": (Extract, "commit_packages", "after"),
    # files normalized, the package not handed to the loader yet
    "during-normalize": (LoadStorage, "commit_new_load_package", "before"),
    # a job's rows committed to DuckDB, the job not marked done
    "during-load-into-warehouse": (DuckDbCopyJob, "run", "after"),
    # a job's file written to the lake, the job not marked done
    "during-load-into-lake": (FilesystemLoadJob, "run", "after"),
}
DBT_STEPS = {
    # the incremental `orders` model has replaced the rows of the orders it recomputes, dbt has not committed
    "dbt-mid-incremental-model": (
        DuckDBCursorWrapper,
        "execute",
        "after",
        ('delete from "warehouse"."main"."orders"', 'insert into "warehouse"."main"."orders"'),
    ),
    # an export has published its first partition, not the others, and not its manifest
    "dbt-mid-export": (Lake, "publish", "after"),
}


def kill_after_the_read_watch_forks(watch_pid_file: str) -> None:
    """The run is killed the moment it has forked its read-deadline watch, before the watch has asked Linux to
    end it with the run (`die_with_parent`): the watch, which writes its pid to `watch_pid_file`, waits for the
    run to be gone first, so it always comes too late for the parent-death signal."""
    from ingestion import runner

    fork, ask_to_die_with_parent = os.fork, runner.die_with_parent

    def forking():
        run = os.getpid()
        child = fork()
        if child:
            os.kill(run, signal.SIGKILL)
        with open(watch_pid_file, "w") as file:
            file.write(str(os.getpid()))
        while os.getppid() == run:
            time.sleep(0.01)
        return child

    def asking_too_late(signal_number):
        os.fork = fork
        ask_to_die_with_parent(signal_number)

    os.fork, runner.die_with_parent = forking, asking_too_late


def kill_at(owner: type, method: str, when: str, statement: tuple[str, ...] = ()) -> None:
    """Wraps `owner.method` to SIGKILL this process `when` ("before" or "after") it runs, on SQL holding `statement`."""
    original = getattr(owner, method)

    @functools.wraps(original)
    def killing(*args, **kwargs):
        chosen = all(len(args) > 1 and part in str(args[1]) for part in statement)
        if chosen and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if chosen:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, method, killing)


if __name__ == "__main__":
    step, arguments = sys.argv[1], sys.argv[2:]
    if step in DBT_STEPS:
        from dbt.cli.main import dbtRunner

        kill_at(*DBT_STEPS[step])
        sys.exit(0 if dbtRunner().invoke(arguments).success else 1)
    if step == "after-the-read-watch-forks":
        kill_after_the_read_watch_forks(arguments.pop(0))
    else:
        kill_at(*STEPS[step])
    sys.exit(main(["run", *arguments]))
