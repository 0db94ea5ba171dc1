"""`python -m tests.clock <seconds> [arguments]`: `python -m ingestion run [arguments]` on a host whose clock is
`seconds` behind (an NTP step back, a VM resumed, the loader moved to another host).

dlt names each load package by the wall clock when it is extracted; a process started behind writes load ids
smaller than those already loaded.
"""

from __future__ import annotations

import sys
import time

import dlt.common.time as dlt_time

from ingestion.cli import main


def set_back(seconds: float) -> None:
    """Puts this process's wall clock (`time.time`, dlt's timer and its high-water mark) `seconds` behind."""
    real = time.time

    def behind() -> float:
        return real() - seconds

    time.time = behind
    dlt_time.precise_time = behind
    dlt_time.increasing_precise_time._last = behind()


if __name__ == "__main__":
    set_back(float(sys.argv[1]))
    sys.exit(main(["run", *sys.argv[2:]]))
