"""Command line: `python -m ingestion run [--source …] [--full-refresh]` and `python -m ingestion status`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from runtime.entry_point import command_line
from runtime.run_lock import die_with_parent, run_lock
from settings import REPO_ROOT, Settings


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt reads the project's `.dlt/config.toml` wherever the command runs from.
    os.environ.setdefault("DLT_PROJECT_DIR", str(REPO_ROOT))
    return command_line(_parser(), argv)


def _run(args: argparse.Namespace) -> int:
    from ingestion import runner
    from ingestion.sandboxes import sources_or_sandboxes

    sources = runner.SOURCES if args.source == "all" else (args.source,)
    if args.full_refresh and "logs" in sources:
        note = "the log API serves only its latest records, so logs keep their history and load incrementally"
        if args.source == "logs":
            print(f"error: --full-refresh applies to orders only: {note}", file=sys.stderr)
            return 2
        print(f"note: --full-refresh reloads orders; {note}", file=sys.stderr)
    settings = Settings.from_env()
    settings.prepare_warehouse_folder()
    command = "python -m ingestion " + shlex.join(sys.argv[1:])
    with (
        run_lock(settings.warehouse_path, command, settings.lock_wait_seconds),
        sources_or_sandboxes(settings, sources) as settings,
    ):
        report = runner.run(settings, sources, full_refresh=args.full_refresh)
        try:
            runner.save_last_runs(settings, report)
        except OSError as error:
            report.errors.append(
                f"cannot record this run in {error.filename or settings.pipelines_dir} ({error.strerror}): "
                "make status will not show it; free space there, or set PIPELINES_DIR to a folder that has it"
            )
    print(report.summary(), file=sys.stderr)
    if args.report_json:
        args.report_json.write_text(json.dumps(report.as_json()))
    return 0 if report.ok else 1


def _status(args: argparse.Namespace) -> int:
    from ingestion.status import status

    print(status(Settings.from_env()))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingestion", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="extract both sources and load them into the warehouse and the lake")
    run.add_argument("--source", choices=["all", "logs", "orders"], default="all")
    run.add_argument(
        "--full-refresh", action="store_true", help="re-extract the whole Orders table and replace raw.orders"
    )
    run.add_argument("--report-json", type=Path, help=argparse.SUPPRESS)  # for the scheduler's one line per run
    run.set_defaults(handler=_run)

    status = commands.add_parser(
        "status", help="each source's last run, rows, newest record, pending packages, quarantine and freshness"
    )
    status.set_defaults(handler=_status)
    return parser
