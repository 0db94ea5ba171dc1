"""`python -m sandbox`: the stand-in sources used on their own, as the README shows them."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from settings import REPO_ROOT
from tests.workspace import Workspace


@pytest.mark.mysql
def test_seed_orders_creates_the_database_it_is_given(tmp_path, mysql_server):
    name = f"elt_walk_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(mysql_server)
    try:
        run = Workspace(tmp_path).cli("sandbox", "seed-orders", "--url", f"{mysql_server}/{name}", "--orders", "5")

        assert run.returncode == 0, run.stderr
        created, inserted = run.stdout.splitlines()
        assert created == f"database {name} created"
        with server.connect() as connection:
            rows = connection.exec_driver_sql(f"select count(*) from {name}.Orders").scalar()
        assert rows > 5 and inserted == f"Orders: {rows} rows inserted"
        again = Workspace(tmp_path).cli("sandbox", "seed-orders", "--url", f"{mysql_server}/{name}")
        assert again.stdout.splitlines() == ["Orders already has rows; left as is"]
    finally:
        with server.begin() as connection:
            connection.exec_driver_sql(f"drop database if exists {name}")
        server.dispose()


@pytest.mark.mysql
def test_seed_orders_on_a_server_that_refuses_says_so_not_that_the_url_is_wrong(tmp_path, mysql_server):
    url = sa.make_url(mysql_server).set(username="nosuchuser", password="wrong", database="shop")
    run = Workspace(tmp_path).cli("sandbox", "seed-orders", "--url", url.render_as_string(hide_password=False))

    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "wrong" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: cannot connect to the database at mysql+pymysql://nosuchuser:***@")
    assert "Access denied" in line and "SQLAlchemy URL" not in line


def test_serve_api_prints_the_key_its_records_are_encrypted_with(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve-api", "--port", "0"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first, second = server.stdout.readline(), server.stdout.readline()
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        assert second.startswith("its records are encrypted with FERNET_KEY=")
        key = second.strip().split("FERNET_KEY=", 1)[1]
        with urllib.request.urlopen(url, timeout=30) as answer:
            [record, *_] = json.load(answer)
        assert Fernet(key).decrypt(record["data"].encode())
    finally:
        server.terminate()
        server.wait(timeout=30)
