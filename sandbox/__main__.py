"""`python -m sandbox serve-api | seed-orders | advance-orders`: the stand-in sources, on their own."""

from __future__ import annotations

import argparse
import sys
from collections import deque
from datetime import timedelta

import sqlalchemy as sa

from sandbox import log_api, orders_db
from settings import redact


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as error:
        print(f"error: cannot use the database at --url ({_first_line(error)}); pass a SQLAlchemy URL", file=sys.stderr)
        return 2
    except sa.exc.SQLAlchemyError as error:
        print(
            f"error: cannot connect to the database at {redact(args.url)} ({_first_line(error)}); "
            "check that the server runs and that this user may connect and create databases",
            file=sys.stderr,
        )
        return 1


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _serve_api(args: argparse.Namespace) -> int:
    sandbox = log_api.LogApiSandbox(seed=args.seed, advance_per_poll=timedelta(seconds=args.advance_seconds))
    sandbox.misbehaviour.failures = deque(args.fail)
    sandbox.misbehaviour.delay_seconds = args.delay
    sandbox.misbehaviour.invalid_token_every = args.invalid_token_every
    sandbox.misbehaviour.non_json_responses = args.non_json
    log_api.serve_forever(sandbox, args.host, args.port)
    return 0


def _seed_orders(args: argparse.Namespace) -> int:
    engine = sa.create_engine(args.url)
    if orders_db.create_database(engine):
        print(f"database {engine.url.database} created")
    inserted = orders_db.seed(engine, args.table, orders=args.orders)
    print(f"{args.table}: {inserted} rows inserted" if inserted else f"{args.table} already has rows; left as is")
    return 0


def _advance_orders(args: argparse.Namespace) -> int:
    engine = sa.create_engine(args.url)
    step = orders_db.advance(engine, args.table)
    print(
        f"{args.table}: {step.rows} rows inserted ({step.new_orders} new orders, {step.status_changes} status "
        f"changes, {step.late_rows} committed late, {step.tied_rows} on tied timestamps)"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    serve = commands.add_parser("serve-api", help="serve the sandbox log API until Ctrl-C")
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
        ("seed-orders", _seed_orders, "create the database and the Orders table at --url, and fill it (if empty)"),
        ("advance-orders", _advance_orders, "add one step of shop activity to the Orders table at --url"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. mysql+pymysql://root@127.0.0.1/test")
        command.add_argument("--table", default="Orders")
        if name == "seed-orders":
            command.add_argument("--orders", type=int, default=200, help="generated orders besides the book's")
        command.set_defaults(handler=handler)
    return parser


if __name__ == "__main__":
    sys.exit(main())
