"""Command line: `python -m warehouse summary | report | sql | setup-extensions`."""

from __future__ import annotations

import argparse

from settings import Settings, command_line


def main(argv: list[str] | None = None) -> int:
    return command_line(_parser(), argv)


def _summary(args: argparse.Namespace) -> int:
    from warehouse.tables import summary

    print(summary(Settings.from_env()))
    return 0


def _report(args: argparse.Namespace) -> int:
    from warehouse.tables import compression_report

    print(compression_report(Settings.from_env()))
    return 0


def _sql(args: argparse.Namespace) -> int:
    from warehouse.shell import open_shell

    return open_shell(Settings.from_env())


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
        ("report", _report, "the log compression report"),
        ("sql", _sql, "an interactive DuckDB shell on the warehouse"),
        ("setup-extensions", _setup_extensions, "install DuckDB's httpfs and mysql extensions offline"),
    ):
        commands.add_parser(name, help=help_text).set_defaults(handler=handler)
    return parser
