"""dbt for the tests, without paying dbt's start-up on every command.

A dbt command spends about 3 s importing dbt, its adapter and the project's modules before it
reads a file. This server does that once; each command is then a fork of it: a new process with
its own pid, environment, working folder, run lock, output and exit code, so what the command
does is what `dbt …` does in a shell. Tests about the command line itself (`make`, a bare `dbt`
as a user types it, signals) start the real executable instead.

Where the warehouse and the lake are does not change what this project parses to (no model reads
`target.path` or the external root at parse time), but dbt's partial-parse check hashes them with
the rest of the profile, so every test workspace, having folders of its own, would parse the whole
project again (about 3 s). The children leave those two values out of that check, so a workspace
can start from another's `partial_parse.msgpack`; dbt still re-parses whatever else changed (files,
`--vars`, the target, environment variables the models read).

Protocol: one JSON line per command on stdin, `{"arguments", "cwd", "environment", "stdout",
"stderr"}` (the last two are file paths); one JSON line back, `{"returncode"}`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import pprint
import sys
import traceback


def _preload() -> None:
    """Imports what every dbt command of this project imports, so that forks start warm."""
    import dbt.adapters.duckdb
    import dbt.adapters.duckdb.plugins
    import dbt.cli.main
    import dbt.parser.manifest
    import dbt.task.build  # noqa: F401

    import settings  # noqa: F401
    import transforms.lake_export
    import transforms.log_decryption  # noqa: F401
    import warehouse.lake_access_plugin
    import warehouse.run_lock_plugin  # noqa: F401


LOCATION_KEYS = ("path", "external_root")


def _share_parse_between_workspaces() -> None:
    from dbt.contracts.files import FileHash
    from dbt.parser.manifest import ManifestLoader

    check = ManifestLoader.build_manifest_state_check

    def without_locations(loader: ManifestLoader):
        state = check(loader)
        connection = loader.root_project.credentials.connection_info()
        kept = sorted((key, value) for key, value in connection if key not in LOCATION_KEYS)
        state.profile_hash = FileHash.from_contents(pprint.pformat(kept))
        return state

    ManifestLoader.build_manifest_state_check = without_locations


def _run(request: dict) -> int:
    """In the forked child: becomes `dbt <arguments>` in the request's folder and environment."""
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.environ.clear()
    os.environ.update(request["environment"])
    for descriptor, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, descriptor)
        os.close(target)
    sys.argv = ["dbt", *request["arguments"]]
    _share_parse_between_workspaces()
    from dbt.cli.main import cli

    try:
        cli.main(args=request["arguments"], prog_name="dbt")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve() -> None:
    _preload()
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the server itself prints must not corrupt the replies
    print(json.dumps({"ready": True}), file=replies, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _run(request)
            except Exception:  # noqa: BLE001 (the child reports any failure and exits, never returns to the loop)
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), file=replies, flush=True)


if __name__ == "__main__":
    serve()
