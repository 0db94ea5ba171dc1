"""What every entry point does first: `.env` read, files kept private, a bad setting said in one line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runtime.run_lock import RunLockBusyError
from settings import ConfigError


def keep_files_private() -> None:
    """Files and folders this process creates are readable by their owner only (0600, 0700), or as the
    user's umask says if it is stricter: the warehouse, the lake, dlt's state and the report hold
    decrypted records. Every entry point calls it first (the loader, `python -m warehouse`, dbt through
    its run-lock plugin, Dagster's assets); Spark's JVM inherits it.
    """
    os.umask(os.umask(0o077) | 0o077)


def command_line(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Runs an entry point's command: `.env` (in the current folder) read first, the shell's variables winning;
    a setting that is missing or malformed ends in one `error:` line (exit 2), and so does a warehouse another
    run holds for longer than LOCK_WAIT_SECONDS (exit 75, EX_TEMPFAIL: try again later; cron and systemd know it).
    """
    from dotenv import load_dotenv

    load_dotenv(Path(".env"), override=False)
    keep_files_private()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunLockBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 75
