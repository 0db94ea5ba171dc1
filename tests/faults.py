"""`python -m tests.faults <step> [arguments of python -m ingestion]`: a run killed (SIGKILL) at `step`.

Each step is a point inside dlt where a crash is worst: the hook wraps dlt's own method there and
kills the process before or after it, so the kill lands at exactly that point on every run.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

from dlt.common.storages.load_storage import LoadStorage
from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob
from dlt.destinations.impl.filesystem.filesystem import FilesystemLoadJob
from dlt.extract.extract import Extract

from ingestion.cli import main

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


def kill_at(step: str) -> None:
    owner, method, when = STEPS[step]
    original = getattr(owner, method)

    @functools.wraps(original)
    def killing(*args, **kwargs):
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, method, killing)


if __name__ == "__main__":
    kill_at(sys.argv[1])
    sys.exit(main(["run", *sys.argv[2:]]))
