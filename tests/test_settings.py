"""Settings are read at the edge: `.env` by the entry points and the Makefile, the shell winning; never by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from settings import Settings, redact
from tests.workspace import as_a_user, checkout


def test_the_warehouse_and_the_lake_are_where_dbts_profile_puts_them(tmp_path):
    defaults = Settings.from_env({}, root=tmp_path)
    assert (defaults.warehouse_path, defaults.lake_url) == (tmp_path / "data/warehouse.duckdb", f"{tmp_path}/data/lake")

    chosen = Settings.from_env({"WAREHOUSE_PATH": "/srv/w.duckdb", "LAKE_URL": "s3://bucket/elt/"}, root=tmp_path)
    assert (chosen.warehouse_path, chosen.lake_url) == (Path("/srv/w.duckdb"), "s3://bucket/elt")


def test_env_file_settings_reach_a_command_unless_the_shell_sets_them(tmp_path):
    (tmp_path / ".env").write_text(f'WAREHOUSE_PATH="{tmp_path}/it\'s from .env.duckdb"\n')

    def summary(**shell: str) -> str:
        run = subprocess.run(
            [sys.executable, "-m", "warehouse", "summary"],
            cwd=tmp_path,
            env={**os.environ, **shell},
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    assert f"no warehouse at {tmp_path}/it's from .env.duckdb yet" in summary()
    from_shell = f"{tmp_path}/from-shell.duckdb"
    assert f"no warehouse at {from_shell} yet" in summary(WAREHOUSE_PATH=from_shell)


@pytest.mark.clone
def test_a_developers_env_file_changes_what_make_runs_but_not_what_the_tests_see(tmp_path):
    repo = checkout(tmp_path / "checkout")
    foreign_warehouse = tmp_path / "foreign.duckdb"
    (repo / ".env").write_text(
        f"LOG_API_URL=http://127.0.0.1:1/\nFERNET_KEY={Fernet.generate_key().decode()}\n"
        f"WAREHOUSE_PATH={foreign_warehouse}\n"
    )

    make = subprocess.run(["make", "-s", "report"], cwd=repo, capture_output=True, text=True)
    assert f"no warehouse at {foreign_warehouse} yet" in make.stdout, make.stdout + make.stderr

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_dbt_project.py"],
        cwd=repo,
        env=as_a_user(repo),
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    assert not foreign_warehouse.exists()


def test_the_duckdb_secret_for_an_s3_lake_follows_the_aws_settings_and_quotes_them():
    local = Settings.from_env({"LAKE_URL": "data/lake"})
    s3 = Settings.from_env(
        {
            "LAKE_URL": "s3://my-bucket/elt",
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "it's-secret",
            "AWS_REGION": "eu-central-1",
            "AWS_ENDPOINT_URL": "https://minio.example.com:9000",
        }
    )

    assert local.duckdb_lake_secret_sql() is None
    with duckdb.connect() as connection:
        connection.execute("load httpfs")
        connection.execute(s3.duckdb_lake_secret_sql())
        [(secret,)] = connection.execute("select secret_string from duckdb_secrets() where name = 'lake'").fetchall()
    assert "scope=s3://my-bucket" in secret
    assert "endpoint=minio.example.com:9000" in secret and "use_ssl=true" in secret and "url_style=path" in secret
    assert "region=eu-central-1" in secret and "key_id=AKIA" in secret


@pytest.mark.parametrize("reserved", list("/#?:[]!$&'()*+,;=%"))
def test_redact_hides_a_password_with_any_reserved_character_sqlalchemy_accepts(reserved):
    """`urlsplit` ends the user part at the first `/`, `#` or `?`: such a password was printed on every run."""
    DB_PASSWORD = f"s3{reserved}cr{reserved}t"  # noqa: N806 (the name test_secrets' scan knows for a placeholder)
    url = f"mysql+pymysql://loader:{DB_PASSWORD}@db.internal:3306/shop?charset=utf8mb4"
    assert sa.make_url(url).password == DB_PASSWORD, "SQLAlchemy reads it as the password"

    shown = redact(url)

    assert shown == "mysql+pymysql://loader:***@db.internal:3306/shop?charset=***"
    assert "cr" not in shown


def test_redact_keeps_every_other_url_as_written():
    assert redact("sqlite:////tmp/sandbox/shop.sqlite") == "sqlite:////tmp/sandbox/shop.sqlite"
    assert redact("sqlite:///data/shop.sqlite") == "sqlite:///data/shop.sqlite"
    assert redact("http://127.0.0.1:8000/logs?token=abc&page") == "http://127.0.0.1:8000/logs?token=***&page"
    assert redact("https://user@api.example/logs") == "https://user@api.example/logs"
    assert redact("data/lake") == "data/lake"
