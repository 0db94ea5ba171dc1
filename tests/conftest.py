"""Real servers for the tests: MariaDB, an S3 API (moto's server mode) and the sandbox log API.

Each fixture fails the test loudly when its server cannot be had; none of them skips.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from sandbox.log_api import LogApiSandbox, serving
from sandbox.mariadb import BINLOG_OPTIONS, MariaDBUnavailableError, answers, free_port, throwaway_mariadb
from settings import AWS_VARIABLES, REPO_ROOT, VARIABLES, Settings
from tests import readers

# Shared 2-core machines are noisy: judge examples by their results, never by their speed.
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")

MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


# The tiers whose tests take minutes each, longest first. pytest-xdist hands each worker its next
# test as it finishes one (two or three queued at most), so starting these first leaves the short
# tests to fill both cores at the end, instead of one core finishing a Spark build alone. Within
# the other tests, the property tests and those marked `long` go first for the same reason.
LONGEST_TIERS = ("spark", "bench", "binlog", "clone", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def tier(item: pytest.Item) -> int:
        for rank, marker in enumerate(LONGEST_TIERS):
            if item.get_closest_marker(marker):
                return rank
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            return len(LONGEST_TIERS)
        return len(LONGEST_TIERS) + (1 if item.get_closest_marker("long") else 2)

    items.sort(key=tier)  # stable: each tier keeps pytest's order


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


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's MariaDB if it answers, else a throwaway one started for the session."""
    if answers(MYSQL_URL):
        yield MYSQL_URL
        return
    with _throwaway_mariadb(tmp_path_factory.mktemp("mariadb")) as url:
        yield url


@pytest.fixture(scope="session")
def binlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway MariaDB with its binary log on, in ROW format (the machine's server has it off)."""
    folder = tmp_path_factory.mktemp("mariadb-binlog")
    with _throwaway_mariadb(folder, *BINLOG_OPTIONS) as url:
        yield url


@pytest.fixture(scope="session")
def berlin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway MariaDB whose time zone is Europe/Berlin, daylight saving included (the machine's is UTC)."""
    with _throwaway_mariadb(tmp_path_factory.mktemp("mariadb-berlin")) as url:
        zone = subprocess.run(
            ["mariadb-tzinfo-to-sql", "/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"],
            check=True,
            capture_output=True,
        ).stdout
        client = ["mariadb", "--protocol=tcp", "-h127.0.0.1", f"-P{sa.make_url(url).port}", "-uroot", "mysql"]
        subprocess.run(client, input=zone, check=True, capture_output=True)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("set global time_zone = 'Europe/Berlin'")
        engine.dispose()
        yield url


@pytest.fixture
def berlin_url(berlin_server: str) -> Iterator[str]:
    """A fresh, empty database on the Europe/Berlin server, dropped after the test."""
    yield from fresh_database(berlin_server)


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
def hung_endpoint():
    """An S3 endpoint that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


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


@contextmanager
def _throwaway_mariadb(directory: Path, *options: str) -> Iterator[str]:
    try:
        with throwaway_mariadb(directory, *options) as url:
            yield url
    except MariaDBUnavailableError as error:
        pytest.fail(f"no MariaDB at {MYSQL_URL}, and {error}", pytrace=False)
