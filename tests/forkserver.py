"""dbt and the project's commands for the tests, without paying Python's start-up on every command.

A dbt command spends about 3 s importing dbt, its adapter and the project's modules before it
reads a file, and `python -m ingestion run` 1.5 s importing dlt. This server does that once;
each command is then a fork of it: a new process with its own pid, environment, working folder,
standard streams, run lock and exit code (a SIGKILL kills that process only), so what it does is
what `dbt …` or `python -m <module> …` does in a shell. Tests about the command line itself
(`make`, a bare `dbt` as a user types it, signals sent to a running command) start the real
executable instead.

Where the warehouse and the lake are does not change what this project parses to (no model reads
`target.path` or the external root at parse time), but dbt's partial-parse check hashes them with
the rest of the profile, so every test workspace, having folders of its own, would parse the whole
project again (about 3 s). The children leave those two values out of that check, so a workspace
can start from another's `partial_parse.msgpack`; dbt still re-parses whatever else changed (files,
`--vars`, the target, environment variables the models read).

dbt also compiles every Jinja macro it calls from source in each command (about 15% of a small
build); the children keep the code Jinja compiled in a cache on disk shared by the server's
children, keyed by everything Jinja's compiler reads (the source, its names, the environment's
class, extensions and syntax settings), the way Python keeps bytecode.

Much of a dbt command's cost is paid once per process, on first use: the code mashumaro generates
to read and write each artifact class, JSON schemas, adapter set-up. A cold command spends 2 to 3 s
on these that a second command in the same process does not (`dbt run` of two models: 2.2 s
cold, 1.0 s warm). So before serving, the server runs `dbt ls` and a `dbt show` of `select 1` on a
scratch warehouse of its own, closes that warehouse, and forks only once it is down to its one
thread. The partial parse that warm-up writes is handed to the tests as the first shared parse.

Protocol: one JSON line per command on stdin, `{"module", "arguments", "cwd", "environment",
"stdin", "stdout", "stderr"}` (`module` null for dbt; the streams are file paths, `stdin` may be
null); one JSON line back, `{"returncode"}`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import json
import logging
import marshal
import os
import pprint
import runpy
import shutil
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from runtime.run_lock import release


def _preload() -> None:
    """Imports what every dbt command of this project imports, so that forks start warm."""
    import dbt.adapters.duckdb
    import dbt.adapters.duckdb.plugins
    import dbt.cli.main
    import dbt.parser.manifest
    import dbt.task.build  # noqa: F401
    import dlt.destinations.impl.duckdb.duck
    import dlt.destinations.impl.filesystem.filesystem  # noqa: F401

    import ingestion.cli
    import ingestion.runner
    import ingestion.status  # noqa: F401
    import settings  # noqa: F401
    import transforms.lake_export
    import transforms.log_decryption
    import transforms.plugins.lake_access
    import transforms.plugins.run_lock  # noqa: F401
    import warehouse.cli  # noqa: F401


LOCATION_KEYS = ("path", "external_root")


def _share_parse_between_workspaces() -> None:
    from dbt.contracts.files import FileHash
    from dbt.parser.manifest import ManifestLoader

    check = ManifestLoader.build_manifest_state_check
    if getattr(check, "shares_parses", False):
        return

    def without_locations(loader: ManifestLoader):
        state = check(loader)
        connection = loader.root_project.credentials.connection_info()
        kept = sorted((key, value) for key, value in connection if key not in LOCATION_KEYS)
        state.profile_hash = FileHash.from_contents(pprint.pformat(kept))
        return state

    without_locations.shares_parses = True
    ManifestLoader.build_manifest_state_check = without_locations


JINJA_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "autoescape",
    "is_async",
)


def _keep_compiled_templates(cache: Path) -> None:
    """Jinja's `Environment.compile` of a source string, kept in `cache` for the next command."""
    from jinja2 import Environment

    compile_ = Environment.compile
    if getattr(compile_, "cache", None) == cache:
        return

    def compile_once(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str):
            return compile_(self, source, name, filename, raw, defer_init)
        settings = [type(self).__qualname__, sorted(self.extensions), [getattr(self, key) for key in JINJA_SETTINGS]]
        key = hashlib.sha256(repr((settings, source, name, filename, defer_init)).encode()).hexdigest()
        kept = cache / key
        if kept.exists():
            return marshal.loads(kept.read_bytes())
        code = compile_(self, source, name, filename, raw, defer_init)
        written = cache / f"{key}.{os.getpid()}.{threading.get_ident()}"  # dbt compiles on threads
        written.write_bytes(marshal.dumps(code))
        os.replace(written, kept)
        return code

    compile_once.cache = cache
    Environment.compile = compile_once


def _warm_up(folder: Path, jinja_cache: Path) -> Path | None:
    """Runs `dbt ls` and `dbt show` on a scratch warehouse in `folder`; returns the partial parse they wrote
    (None, with the reason on stderr, if they failed: the children then start cold)."""
    import dbt.adapters.factory
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    threads = len(os.listdir("/proc/self/task"))  # pyarrow's and DuckDB's, started on import
    saved = dict(os.environ)
    os.environ.update(
        {
            "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
            "LAKE_URL": str(folder / "lake"),
            "PIPELINES_DIR": str(folder / "pipelines"),
            "SANDBOX_DIR": str(folder / "sandbox"),
        }
    )
    _share_parse_between_workspaces()
    _keep_compiled_templates(jinja_cache)
    paths = ["--target-path", str(folder / "target"), "--log-path", str(folder), "--quiet"]
    # dbt's static parser (Rust) starts a thread pool that a fork would inherit as memory without threads,
    # and every child that parsed would wait on it for ever. `show` parses too when `ls` failed to.
    commands = (["ls", "--no-static-parser"], ["show", "--no-static-parser", "--inline", "select 1"])
    try:
        with open(folder / "output.txt", "w") as output, contextlib.redirect_stdout(output):
            results = [dbtRunner().invoke([*command, *paths]) for command in commands]
        if not all(result.success for result in results):
            print(f"fork server: dbt failed to warm up: {(folder / 'output.txt').read_text()}", file=sys.stderr)
            return None
    finally:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            for plugin in environment._plugins.values():
                release(getattr(plugin, "lock", None))
            environment.close()
        DuckDBConnectionManager._ENV = None
        DuckDBConnectionManager._LOGGED_MESSAGES.clear()  # dbt-duckdb's warnings said once per process
        dbt.adapters.factory.reset_adapters()
        gc.collect()
        os.environ.clear()
        os.environ.update(saved)
    started = len(os.listdir("/proc/self/task")) - threads
    assert started == 0, f"warming up left {started} thread(s) running, which the forks would not have"
    return folder / "target" / "partial_parse.msgpack"


def _run(request: dict, jinja_cache: Path) -> int:
    """In the forked child: becomes the command in the request's folder, environment and streams."""
    os.chdir(request["cwd"])
    source = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(source, 0)
    os.close(source)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # not the server's, which may have read ahead
    os.environ.clear()
    os.environ.update(request["environment"])
    for descriptor, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, descriptor)
        os.close(target)
    try:
        if request["module"] is None:
            _dbt(request["arguments"], jinja_cache)
        else:
            sys.argv = [request["module"], *request["arguments"]]
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except Exception:  # noqa: BLE001 (as Python does with an uncaught exception: the traceback, then 1)
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _dbt(arguments: list[str], jinja_cache: Path) -> None:
    sys.argv = ["dbt", *arguments]
    _share_parse_between_workspaces()
    _keep_compiled_templates(jinja_cache)
    from dbt.cli.main import cli

    cli.main(args=arguments, prog_name="dbt")


def _exit_code(code: object) -> int:
    """What Python's own exit makes of `sys.exit(code)`: a message is printed and means 1."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def serve() -> None:
    _preload()
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the server itself prints must not corrupt the replies
    jinja_cache = Path(tempfile.mkdtemp(prefix="jinja-code-"))
    scratch = Path(tempfile.mkdtemp(prefix="fork-server-warm-up-"))
    umask = os.umask(0o022)
    os.umask(umask)
    parsed = _warm_up(scratch, jinja_cache)
    os.umask(umask)  # the warm-up's dbt made it stricter: each command starts with the tests' own
    print(json.dumps({"ready": True, "parsed": parsed and str(parsed)}), file=replies, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _run(request, jinja_cache)
            except Exception:  # noqa: BLE001 (the child reports any failure and exits, never returns to the loop)
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), file=replies, flush=True)
    shutil.rmtree(jinja_cache, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    serve()
