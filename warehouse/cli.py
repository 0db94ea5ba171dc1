"""Command line: `python -m warehouse summary | report | sql | ide | schedule | spark | setup-extensions`."""

from __future__ import annotations

import argparse
from pathlib import Path

from runtime.entry_point import command_line
from settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    return command_line(_parser(), argv)


def _summary(args: argparse.Namespace) -> int:
    from warehouse.tables import summary

    print(summary(Settings.from_env()))
    return 0


def _report(args: argparse.Namespace) -> int:
    from warehouse.report_page import CHARTS, write_report_page
    from warehouse.tables import compression_report

    settings = Settings.from_env()
    print(compression_report(settings))
    if not settings.warehouse_path.exists():
        return 0
    page = args.html or settings.warehouse_path.parent / "report.html"
    drawn = write_report_page(settings, page)
    print(f"Charts ({drawn} of {len(CHARTS)} with data): {page.resolve().as_uri()}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    from warehouse.shell import open_shell

    return open_shell(Settings.from_env())


def _ide(args: argparse.Namespace) -> int:
    from warehouse.shell import open_ide

    return open_ide(Settings.from_env())


def _schedule(args: argparse.Namespace) -> int:
    from warehouse.schedule import Schedule, parse_every, schedule

    if (args.every is None) == (args.cron is None):
        raise ConfigError("schedule takes one of --every (e.g. 3m) or --cron (e.g. '*/5 * * * *')")
    try:
        plan = Schedule(every=parse_every(args.every)) if args.every else Schedule(cron=_cron(args.cron))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return schedule(Settings.from_env(), plan, exit_on_failure=args.exit_on_failure)


def _cron(expression: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise ValueError(f"--cron takes a cron expression like '*/5 * * * *', got {expression!r}")
    return expression


def _spark(args: argparse.Namespace) -> int:
    from warehouse.spark import run_dbt

    return run_dbt(args.dbt_arguments)


def _setup_extensions(args: argparse.Namespace) -> int:
    from warehouse.extensions import install_bundled_extensions

    for name in install_bundled_extensions():
        print(f"duckdb extension {name}: installed")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")
    for name, handler, help_text in (
        ("summary", _summary, "row counts of the warehouse tables"),
        ("sql", _sql, "an interactive DuckDB shell on the warehouse"),
        ("ide", _ide, "harlequin, a terminal SQL IDE, on the warehouse"),
        ("setup-extensions", _setup_extensions, "install DuckDB's httpfs and mysql extensions offline"),
    ):
        commands.add_parser(name, help=help_text).set_defaults(handler=handler)
    report = commands.add_parser("report", help="the log compression report, and an HTML page of charts")
    report.add_argument("--html", type=Path, help="where to write the page (default: next to the warehouse)")
    report.set_defaults(handler=_report)
    schedule = commands.add_parser("schedule", help="ingest + dbt build on a schedule, one run at a time")
    schedule.add_argument("--every", help="run every this long: 90s, 3m, 1h, 1d")
    schedule.add_argument("--cron", help="run at the times of this cron expression, e.g. '*/5 * * * *'")
    schedule.add_argument("--exit-on-failure", action="store_true", help="exit 1 after a run that failed")
    schedule.set_defaults(handler=_schedule)
    spark = commands.add_parser(
        "spark", help="dbt on Apache Spark over the lake: `spark build` (the default), `spark run`, …"
    )
    spark.add_argument(
        "dbt_arguments", nargs=argparse.REMAINDER, help="dbt's command and options (--target spark is added)"
    )
    spark.set_defaults(handler=_spark)
    return parser
