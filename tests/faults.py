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
    kill_at(*STEPS[step])
    sys.exit(main(["run", *arguments]))
