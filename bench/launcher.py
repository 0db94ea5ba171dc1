"""Starts the measured processes on the benchmark's behalf, and stays small while doing it.

Linux carries a process's peak RSS across `exec` from the process that forked it: a child of the
benchmark, which holds generated data, would report at least the benchmark's own size. So the
benchmark asks this process, started once and importing almost nothing, to run each command: its
children's peak RSS is their own. One JSON request per line on stdin, one JSON answer per line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

TAIL_LINES = 15


def run(argv: list[str], env: dict[str, str], cwd: str) -> dict:
    with tempfile.TemporaryFile() as output, open(os.devnull, "rb") as stdin:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output.seek(0)
        tail = output.read().decode(errors="replace").strip().splitlines()[-TAIL_LINES:]
    return {
        "seconds": seconds,
        "peak_rss_kib": usage.ru_maxrss,  # Linux reports kilobytes: of the process and its waited-for children
        "exit_code": os.waitstatus_to_exitcode(status),
        "tail": tail,
    }


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(run(request["argv"], request["env"], request["cwd"])), flush=True)


if __name__ == "__main__":
    main()
