"""The two places every source lands: the DuckDB warehouse and the lake (local folder or S3)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import dlt
from dlt.common.destination import Destination

from ingestion.settings import Settings

DATASET = "raw"
# Fail within seconds when S3 is unreachable rather than after botocore's long default retries.
S3_CLIENT_CONFIG = {"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3, "mode": "standard"}}


class DestinationError(RuntimeError):
    """A destination cannot be reached; the message says which setting to check."""


@dataclass(frozen=True)
class Target:
    """A destination with the name shown to the user and where a table lands (`{table}` filled in)."""

    name: str
    where: str
    destination: Destination
    loader_file_format: str | None = None


def targets(settings: Settings) -> list[Target]:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    warehouse = Target(
        name="warehouse",
        where=f"{settings.warehouse_path}: {DATASET}.{{table}}",
        destination=dlt.destinations.duckdb(credentials=str(settings.warehouse_path)),
    )
    lake = Target(
        name="lake",
        where=f"{settings.lake_url}/{DATASET}/{{table}}/",
        destination=dlt.destinations.filesystem(
            bucket_url=settings.lake_url,
            credentials=_aws_credentials(settings) if settings.lake_is_s3 else None,
            kwargs={"config_kwargs": S3_CLIENT_CONFIG} if settings.lake_is_s3 else None,
        ),
        loader_file_format="parquet",
    )
    return [warehouse, lake]


def check_lake(settings: Settings) -> None:
    """Raises `DestinationError` within seconds if an S3 lake's bucket cannot be reached."""
    if not settings.lake_is_s3:
        return
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = urlsplit(settings.lake_url).netloc
    client = boto3.client(
        "s3",
        aws_access_key_id=settings.aws.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=settings.aws.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=settings.aws.get("AWS_SESSION_TOKEN"),
        region_name=settings.aws.get("AWS_REGION"),
        endpoint_url=settings.aws.get("AWS_ENDPOINT_URL"),
        config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as error:
        endpoint = settings.aws.get("AWS_ENDPOINT_URL", "AWS")
        raise DestinationError(
            f"cannot reach the lake bucket {bucket!r} at {endpoint} ({error}); "
            "check LAKE_URL, AWS_ENDPOINT_URL and the AWS credentials"
        ) from error


def _aws_credentials(settings: Settings) -> dict[str, str]:
    names = {
        "AWS_ACCESS_KEY_ID": "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
        "AWS_SESSION_TOKEN": "aws_session_token",
        "AWS_REGION": "region_name",
        "AWS_ENDPOINT_URL": "endpoint_url",
    }
    return {names[name]: value for name, value in settings.aws.items()}
