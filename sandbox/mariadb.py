"""A throwaway MariaDB server in a folder of its own, for tests and the bench (e.g. one with the binary log on)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

# The binary log in ROW format, as ORDERS_CAPTURE=binlog needs it.
BINLOG_OPTIONS = ("--log-bin=binlog", "--binlog-format=ROW", "--server-id=7")


class MariaDBUnavailableError(RuntimeError):
    """mariadbd is not installed, or the server did not start."""


@contextmanager
def throwaway_mariadb(folder: Path, *options: str) -> Iterator[str]:
    """A new server on a free port with `options`, its data in `folder`; yields its URL (root, no password)."""
    server, installer = shutil.which("mariadbd", path="/usr/sbin:/usr/bin"), shutil.which("mariadb-install-db")
    if not server or not installer:
        raise MariaDBUnavailableError("mariadbd and mariadb-install-db are not installed")
    data = folder / "data"
    subprocess.run(
        [installer, "--no-defaults", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=normal"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={folder / 'mysqld.sock'}",
            "--user=root",
            "--skip-log-error",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"mysql+pymysql://root@127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise MariaDBUnavailableError(f"a throwaway MariaDB in {folder} did not start")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
