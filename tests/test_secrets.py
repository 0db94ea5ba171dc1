"""No secret shows: not in any line the project prints, nor in any file it writes, failures included."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from sandbox import log_api as sandbox_api
from sandbox import orders_db as shop
from settings import REPO_ROOT, SANDBOX_FERNET_KEY
from tests.readers import s3_client
from tests.workspace import Workspace

DB_PASSWORD = "db-Passw0rd-" + uuid.uuid4().hex[:8]
API_PASSWORD = "api-Passw0rd-" + uuid.uuid4().hex[:8]
API_KEY = "api-key-" + uuid.uuid4().hex[:12]
AWS_SECRET = "aws-secret-" + uuid.uuid4().hex[:12]


def everything_written(folder: Path, bucket: str, environment: dict[str, str]) -> list[tuple[str, bytes]]:
    """Every file under `folder` and every object in the bucket, as bytes."""
    files = [(str(path), path.read_bytes()) for path in folder.rglob("*") if path.is_file()]
    client = s3_client(environment)
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        files.append((f"s3://{bucket}/{item['Key']}", client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return files


@pytest.mark.long
def test_a_whole_run_with_fake_secrets_everywhere_prints_and_writes_none_of_them(tmp_path, mysql_url, s3_lake):
    fernet_key = Fernet.generate_key().decode()
    user = f"elt_{uuid.uuid4().hex[:8]}"
    database = mysql_url.rsplit("/", 1)[1]
    root = sa.create_engine(mysql_url)
    with root.begin() as connection:
        connection.exec_driver_sql(f"create user '{user}'@'%%' identified by '{DB_PASSWORD}'")
        connection.exec_driver_sql(f"grant all on {database}.* to '{user}'@'%%'")
    shop.seed(root, orders=20)
    root.dispose()
    host = mysql_url.split("@", 1)[1].rsplit("/", 1)[0]
    secrets = {DB_PASSWORD, API_PASSWORD, API_KEY, AWS_SECRET, fernet_key}

    sandbox = sandbox_api.LogApiSandbox(seed=9, key=fernet_key)
    with sandbox_api.serving(sandbox) as url:
        api_url = url.replace("http://", f"http://reader:{API_PASSWORD}@") + f"?api_key={API_KEY}"
        workspace = Workspace(
            tmp_path / "project",
            dbt_log_file=True,  # dbt's debug log is one of the files that must hold no secret
            **{**s3_lake, "AWS_SECRET_ACCESS_KEY": AWS_SECRET},
            LOG_API_URL=api_url,
            FERNET_KEY=fernet_key,
            ORDERS_DB_URL=f"mysql+pymysql://{user}:{DB_PASSWORD}@{host}/{database}",
            DBT_TARGET_PATH=str(tmp_path / "project" / "target"),
            DBT_LOG_PATH=str(tmp_path / "project"),
        )
        outputs = [workspace.cli("ingestion", "run"), workspace.cli("ingestion", "run")]
        sandbox.fail_next(401)
        outputs.append(workspace.cli("ingestion", "run", "--source", "logs"))
        broken = {**workspace.environment, "ORDERS_DB_URL": f"mysql+pymysql://{user}:{DB_PASSWORD}@127.0.0.1:1/x"}
        outputs.append(
            subprocess.run(
                [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "ingestion", "run", "--source", "orders"],
                cwd=workspace.folder,
                env=broken,
                capture_output=True,
                text=True,
            )
        )
        dbt = workspace.dbt("build")

    assert [run.returncode for run in outputs] == [0, 0, 1, 1], [run.stderr[-2000:] for run in outputs]
    assert "reader:***@" in outputs[0].stderr, "the API's address is still shown, without its secrets"
    printed = "\n".join(run.stdout + run.stderr for run in outputs) + dbt
    leaks = [secret for secret in secrets if secret in printed]
    assert not leaks, f"printed: {leaks}"
    bucket = s3_lake["LAKE_URL"].removeprefix("s3://").split("/", 1)[0]
    written = everything_written(tmp_path / "project", bucket, workspace.environment)
    assert any(name.endswith(".duckdb") for name, _ in written) and any("/raw/logs/" in name for name, _ in written)
    assert any(name.endswith("dbt.log") for name, _ in written), "dbt's debug log is among the files read"
    leaks = [(name, secret) for name, content in written for secret in secrets if secret.encode() in content]
    assert not leaks, f"written: {leaks}"


SECRET_SHAPES = {
    "a Fernet key": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}="),
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a password in a URL": re.compile(r"://[^/\s:@'\"]+:(?P<password>[^@\s/'\"]+)@"),
}
# Placeholders in examples, and the test's own variables, are not secrets.
NOT_SECRETS = {"password", "***", "...", "{API_PASSWORD}", "{DB_PASSWORD}", SANDBOX_FERNET_KEY}


def test_no_tracked_file_holds_anything_shaped_like_a_secret():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    found = []
    for name in tracked.stdout.splitlines():
        path = REPO_ROOT / name
        if not path.is_file() or name == "requirements.lock":
            continue
        text = path.read_text(errors="ignore")
        for shape, pattern in SECRET_SHAPES.items():
            for match in pattern.finditer(text):
                value = match.groupdict().get("password") or match.group(0)
                if value not in NOT_SECRETS:
                    found.append(f"{name}: {shape}: {value}")
    assert found == []


def test_what_holds_decrypted_data_is_readable_by_its_owner_only_under_the_usual_umask(tmp_path):
    """The warehouse, the lake, dlt's state and the report page, from the commands a user runs."""
    previous = os.umask(0o022)  # the usual default: new files 0644 and folders 0755
    try:
        data = tmp_path / "data"
        workspace = Workspace(
            tmp_path,
            WAREHOUSE_PATH=str(data / "warehouse.duckdb"),
            LAKE_URL=str(data / "lake"),
            PIPELINES_DIR=str(data / "pipelines"),
        )
        ingest = workspace.cli("ingestion", "run")
        assert ingest.returncode == 0, ingest.stderr
        workspace.dbt("build")
        report = workspace.cli("warehouse", "report")
        assert report.returncode == 0, report.stderr
    finally:
        os.umask(previous)

    written = [data, *data.rglob("*")]
    assert (data / "report.html") in written and list((data / "lake" / "exports").rglob("*.parquet"))
    assert len(written) > 50
    shared = [f"{oct(path.stat().st_mode & 0o777)} {path}" for path in written if path.stat().st_mode & 0o077]
    assert shared == []
