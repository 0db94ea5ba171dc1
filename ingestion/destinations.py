"""The two places every source lands: the DuckDB warehouse and the lake (local folder or S3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dlt
from dlt.common.destination import Destination

from runtime.lake_probe import lake_problem
from settings import S3_CLIENT_CONFIG, Settings

DATASET = "raw"


class DestinationError(RuntimeError):
    """A destination cannot be reached; the message says which setting to check."""


@dataclass(frozen=True)
class Target:
    """A destination with the name shown to the user and where a table lands (`{table}` filled in)."""

    name: str
    where: str
    destination: Destination
    # The warehouse file or the lake's URL: what dlt's state and packages on this machine belong to.
    location: str
    loader_file_format: str | None = None
    # A load job that ran but was not marked done (a kill in between) runs again on the next run:
    # the lake then rewrites the same file; the warehouse would insert its rows a second time.
    retried_job_appends_again: bool = False


def working_folder(settings: Settings, target: Target) -> Path:
    """Where dlt keeps the state and packages of `target` on this machine: one folder per destination location.

    A package or state made for one warehouse or lake must never be loaded into another one that the
    settings name later (and back), so the folder is named by the location, not by the role.
    """
    digest = hashlib.sha256(target.location.encode()).hexdigest()[:12]
    return settings.pipelines_dir / f"{target.name}-{digest}"


def targets(settings: Settings) -> list[Target]:
    settings.prepare_warehouse_folder()
    warehouse = Target(
        name="warehouse",
        where=f"{settings.warehouse_path}: {DATASET}.{{table}}",
        destination=dlt.destinations.duckdb(credentials=str(settings.warehouse_path)),
        location=str(settings.warehouse_path.resolve()),
        retried_job_appends_again=True,
    )
    lake = Target(
        name="lake",
        where=f"{settings.lake_url}/{DATASET}/{{table}}/",
        location=settings.lake_url,
        destination=dlt.destinations.filesystem(
            bucket_url=settings.lake_url,
            credentials=settings.s3_credentials() if settings.lake_is_s3 else None,
            kwargs={"config_kwargs": S3_CLIENT_CONFIG} if settings.lake_is_s3 else None,
        ),
        loader_file_format="parquet",
    )
    return [warehouse, lake]


def check_lake(settings: Settings) -> None:
    """Raises `DestinationError` within seconds if an S3 lake's bucket cannot be reached.

    A lake that does not answer is left out of this run and catches up on the next, so waiting
    longer here would only delay the warehouse.
    """
    if problem := lake_problem(settings):
        bucket = urlsplit(settings.lake_url).netloc
        endpoint = settings.aws.get("AWS_ENDPOINT_URL", "AWS")
        raise DestinationError(
            f"cannot reach the lake bucket {bucket!r} at {endpoint} ({problem}); "
            "check LAKE_URL, AWS_ENDPOINT_URL and the AWS credentials"
        )
