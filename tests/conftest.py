"""Real servers for the tests: MariaDB, an S3 API (moto's server mode) and the sandbox log API.

Each fixture fails the test loudly when its server cannot be had; none of them skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from sandbox.log_api import LogApiSandbox, serving
from settings import AWS_VARIABLES, REPO_ROOT, VARIABLES, Settings
from tests import readers

# Shared 2-core machines are noisy: judge examples by their results, never by their speed.
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")

MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session", autouse=True)
def no_developer_settings() -> Iterator[None]:
    """Tests see neither the developer's `.env` nor the project's variables from their shell.

    The entry points read `.env` from the folder they run in: subprocesses run in a test's own
    folder, with the repository on PYTHONPATH.
    """
    saved = dict(os.environ)
    for name in (*VARIABLES, *AWS_VARIABLES):
        os.environ.pop(name, None)
    os.environ["PYTHONPATH"] = str(REPO_ROOT)
    os.environ["DLT_PROJECT_DIR"] = str(REPO_ROOT)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's MariaDB if it answers, else a throwaway one started for the session."""
    if _answers(MYSQL_URL):
        yield MYSQL_URL
        return
    with _throwaway_mariadb(tmp_path_factory.mktemp("mariadb")) as url:
        yield url


@pytest.fixture(scope="session")
def binlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway MariaDB with its binary log on, in ROW format (the machine's server has it off)."""
    folder = tmp_path_factory.mktemp("mariadb-binlog")
    options = (f"--log-bin={folder / 'data' / 'binlog'}", "--binlog-format=ROW", "--server-id=7")
    with _throwaway_mariadb(folder, *options) as url:
        yield url


@pytest.fixture
def binlog_url(binlog_server: str) -> Iterator[str]:
    """A fresh, empty database on the binlog server, dropped after the test."""
    yield from fresh_database(binlog_server)


@pytest.fixture
def mysql_url(mysql_server: str) -> Iterator[str]:
    """A fresh, empty database on the MariaDB server, dropped after the test."""
    yield from fresh_database(mysql_server)


def fresh_database(server: str) -> Iterator[str]:
    """A new empty database on `server` (its URL), dropped when the generator closes."""
    name = f"elt_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"create database {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"drop database if exists {name}")
        engine.dispose()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 API, served over HTTP on 127.0.0.1 for the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_lake(s3_endpoint: str) -> dict[str, str]:
    """Environment for a lake in a new bucket of the S3 server."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    environment = {**S3_KEYS, "AWS_ENDPOINT_URL": s3_endpoint, "LAKE_URL": f"s3://{bucket}/warehouse"}
    readers.s3_client(environment).create_bucket(Bucket=bucket)
    return environment


@pytest.fixture
def log_api() -> Iterator[tuple[LogApiSandbox, str]]:
    """The sandbox log API on a free port: its clock moves only when a test moves it."""
    sandbox = LogApiSandbox(seed=11)
    with serving(sandbox) as url:
        yield sandbox, url


@pytest.fixture
def project(tmp_path: Path):
    """Builds `Settings` for a project whose warehouse, lake and state live in `tmp_path`."""

    def settings(**environment: str) -> Settings:
        base = {
            "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
            "LAKE_URL": str(tmp_path / "lake"),
            "PIPELINES_DIR": str(tmp_path / "pipelines"),
            "SANDBOX_DIR": str(tmp_path / "sandbox"),
        }
        return Settings.from_env({**base, **environment}, root=tmp_path)

    return settings


def _answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


class _throwaway_mariadb:  # noqa: N801 (used as a context manager, like contextlib's)
    def __init__(self, directory: Path, *options: str) -> None:
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        server, installer = shutil.which("mariadbd", path="/usr/sbin:/usr/bin"), shutil.which("mariadb-install-db")
        if not server or not installer:
            pytest.fail(f"no MariaDB at {MYSQL_URL} and no mariadbd/mariadb-install-db to start one", pytrace=False)
        data = self.directory / "data"
        subprocess.run(
            [
                installer,
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                "--auth-root-authentication-method=normal",
            ],
            check=True,
            capture_output=True,
        )
        self.process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.directory / 'mysqld.sock'}",
                "--user=root",
                "--skip-log-error",
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"mysql+pymysql://root@127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while not _answers(url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                pytest.fail(f"no MariaDB at {MYSQL_URL}, and a throwaway server did not start", pytrace=False)
            time.sleep(0.5)
        return url

    def __exit__(self, *exc_info: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
