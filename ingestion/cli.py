"""Command line: `python -m ingestion run | sandbox … | setup-extensions`."""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from datetime import timedelta

import sqlalchemy as sa

from ingestion.sandbox import log_api as log_api_sandbox
from ingestion.sandbox import orders_db as orders_sandbox
from ingestion.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from ingestion import runner

    sources = runner.SOURCES if args.source == "all" else (args.source,)
    if args.full_refresh and "logs" in sources:
        note = "the log API serves only its latest records, so logs keep their history and load incrementally"
        if args.source == "logs":
            print(f"error: --full-refresh applies to orders only: {note}", file=sys.stderr)
            return 2
        print(f"note: --full-refresh reloads orders; {note}", file=sys.stderr)
    report = runner.run(Settings.from_env(), sources, full_refresh=args.full_refresh)
    print(report.summary(), file=sys.stderr)
    return 0 if report.ok else 1


def _serve_api(args: argparse.Namespace) -> int:
    sandbox = log_api_sandbox.LogApiSandbox(seed=args.seed, advance_per_poll=timedelta(seconds=args.advance_seconds))
    sandbox.misbehaviour.failures = deque(args.fail)
    sandbox.misbehaviour.delay_seconds = args.delay
    sandbox.misbehaviour.invalid_token_every = args.invalid_token_every
    sandbox.misbehaviour.non_json_responses = args.non_json
    log_api_sandbox.serve_forever(sandbox, args.host, args.port)
    return 0


def _seed_orders(args: argparse.Namespace) -> int:
    engine = sa.create_engine(args.url)
    inserted = orders_sandbox.seed(engine, args.table, orders=args.orders)
    print(f"{args.table}: {inserted} rows inserted" if inserted else f"{args.table} already has rows; left as is")
    return 0


def _advance_orders(args: argparse.Namespace) -> int:
    engine = sa.create_engine(args.url)
    step = orders_sandbox.advance(engine, args.table)
    print(
        f"{args.table}: {step.rows} rows inserted ({step.new_orders} new orders, {step.status_changes} status "
        f"changes, {step.late_rows} committed late, {step.tied_rows} on tied timestamps)"
    )
    return 0


def _env(args: argparse.Namespace) -> int:
    from ingestion.settings import env_file_exports

    print(env_file_exports())
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ingestion.warehouse import summary

    print(summary(Settings.from_env()))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ingestion.warehouse import compression_report

    print(compression_report(Settings.from_env()))
    return 0


def _sql(args: argparse.Namespace) -> int:
    from ingestion.warehouse import open_shell

    return open_shell(Settings.from_env())


def _setup_extensions(args: argparse.Namespace) -> int:
    from ingestion.extensions import install_bundled_extensions

    for name in install_bundled_extensions():
        print(f"duckdb extension {name}: installed")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingestion", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="extract both sources and load them into the warehouse and the lake")
    run.add_argument("--source", choices=["all", "logs", "orders"], default="all")
    run.add_argument(
        "--full-refresh", action="store_true", help="re-extract the whole Orders table and replace raw.orders"
    )
    run.set_defaults(handler=_run)

    sandbox = commands.add_parser("sandbox", help="the local stand-ins for the log API and the orders database")
    sandbox_commands = sandbox.add_subparsers(required=True, metavar="command")

    serve = sandbox_commands.add_parser("serve-api", help="serve the sandbox log API until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--advance-seconds", type=float, default=60, help="simulated time that passes per poll")
    serve.add_argument("--fail", type=int, nargs="*", default=[], help="answer these statuses first, e.g. 502 504")
    serve.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every answer")
    serve.add_argument("--invalid-token-every", type=int, default=0, help="corrupt the token of every Nth record")
    serve.add_argument("--non-json", type=int, default=0, help="answer this many polls with an HTML body")
    serve.set_defaults(handler=_serve_api)

    for name, handler, help_text in (
        ("seed-orders", _seed_orders, "create and fill the Orders table at --url (if empty)"),
        ("advance-orders", _advance_orders, "add one step of shop activity to the Orders table at --url"),
    ):
        command = sandbox_commands.add_parser(name, help=help_text)
        command.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. mysql+pymysql://root@127.0.0.1/test")
        command.add_argument("--table", default="Orders")
        if name == "seed-orders":
            command.add_argument("--orders", type=int, default=200, help="generated orders besides the book's")
        command.set_defaults(handler=handler)

    commands.add_parser("env", help="export lines for the .env settings not set in the shell").set_defaults(
        handler=_env
    )
    commands.add_parser("summary", help="row counts of the warehouse tables").set_defaults(handler=_summary)
    commands.add_parser("report", help="the log compression report").set_defaults(handler=_report)
    commands.add_parser("sql", help="an interactive DuckDB shell on the warehouse").set_defaults(handler=_sql)

    setup = commands.add_parser("setup-extensions", help="install DuckDB's httpfs and mysql extensions offline")
    setup.set_defaults(handler=_setup_extensions)
    return parser
