"""The project's settings, from the environment they are given: one default per setting, spelled here.

The variable names are the project's interface (README, "Configuration"). `.env` is read only
at the edge: by the entry points' `command_line` and by the Makefile (python-dotenv's CLI);
library code receives a `Settings`. Where the warehouse and the lake are is dbt's profile
(`profiles.yml`: `path` and `external_root`), rendered here with the same environment, so the
loader and dbt always agree on them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILE_FILE = REPO_ROOT / "profiles.yml"
PROFILE = "elt_warehouse"
DEFAULT_LOOKBACK_SECONDS = 3600
# A poll's answer is the latest records (about 40 kB for 100): far more is a fault, not data.
DEFAULT_LOG_API_MAX_BYTES = 16 * 2**20
# How long a run waits for another one (on the same warehouse) to finish before it gives up.
DEFAULT_LOCK_WAIT_SECONDS = 60
# Not a secret: it encrypts the sandbox log API's made-up records and nothing else.
SANDBOX_FERNET_KEY = "c2FuZGJveC1sb2ctYXBpLWZlcm5ldC1rZXktMzJieXQ="
# ORDERS_CAPTURE: incremental on `LastUpdated` (the default), or every change from the MySQL binary log.
CAPTURE_MODES = ("timestamp", "binlog")
# Every variable the project reads (README, "Configuration").
VARIABLES = (
    "LOG_API_URL",
    "LOG_API_TIMEOUT_SECONDS",
    "LOG_API_DEADLINE_SECONDS",
    "LOG_API_MAX_BYTES",
    "ORDERS_DB_URL",
    "ORDERS_TABLE",
    "ORDERS_LOOKBACK_SECONDS",
    "ORDERS_READ_DEADLINE_SECONDS",
    "ORDERS_CAPTURE",
    "FERNET_KEY",
    "LAKE_URL",
    "WAREHOUSE_PATH",
    "PIPELINES_DIR",
    "SANDBOX_DIR",
    "LOCK_WAIT_SECONDS",
)
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL")
AWS_CREDENTIAL_FIELDS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region_name",
    "endpoint_url",
)
# Fail within seconds when S3 is unreachable, rather than after botocore's long default retries.
S3_CLIENT_CONFIG = {"connect_timeout": 5, "read_timeout": 10, "retries": {"max_attempts": 2, "mode": "standard"}}
# s3fs retries each call again on top of botocore; two tries are enough to ride out a blip.
S3_FILESYSTEM_RETRIES = 2


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    log_api_url: str | None
    log_api_timeout_seconds: int
    log_api_max_bytes: int
    log_api_deadline_seconds: int
    orders_db_url: str | None
    orders_table: str
    orders_lookback_seconds: int
    orders_capture: str
    orders_read_deadline_seconds: int
    fernet_key: str | None
    lake_url: str
    warehouse_path: Path
    pipelines_dir: Path
    sandbox_dir: Path
    lock_wait_seconds: int
    aws: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Settings:
        """The settings in `environ` (default: this process's environment); relative paths are under `root`."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        profile = dbt_profile(env)
        return cls(
            log_api_url=get("LOG_API_URL"),
            log_api_timeout_seconds=_seconds("LOG_API_TIMEOUT_SECONDS", get("LOG_API_TIMEOUT_SECONDS"), 30, minimum=1),
            log_api_deadline_seconds=_seconds(
                "LOG_API_DEADLINE_SECONDS", get("LOG_API_DEADLINE_SECONDS"), 300, minimum=1
            ),
            log_api_max_bytes=_whole_number(
                "LOG_API_MAX_BYTES", get("LOG_API_MAX_BYTES"), DEFAULT_LOG_API_MAX_BYTES, minimum=1024, unit="bytes"
            ),
            orders_db_url=get("ORDERS_DB_URL"),
            orders_table=get("ORDERS_TABLE") or "Orders",
            orders_lookback_seconds=_seconds(
                "ORDERS_LOOKBACK_SECONDS", get("ORDERS_LOOKBACK_SECONDS"), DEFAULT_LOOKBACK_SECONDS, minimum=0
            ),
            orders_capture=_choice("ORDERS_CAPTURE", get("ORDERS_CAPTURE"), CAPTURE_MODES),
            orders_read_deadline_seconds=_seconds(
                "ORDERS_READ_DEADLINE_SECONDS", get("ORDERS_READ_DEADLINE_SECONDS"), 3600, minimum=1
            ),
            fernet_key=get("FERNET_KEY"),
            lake_url=_lake_url(str(profile["external_root"]), root),
            warehouse_path=_under(root, str(profile["path"])),
            pipelines_dir=_under(root, get("PIPELINES_DIR") or "data/pipelines"),
            sandbox_dir=_under(root, get("SANDBOX_DIR") or "data/sandbox"),
            lock_wait_seconds=_seconds(
                "LOCK_WAIT_SECONDS", get("LOCK_WAIT_SECONDS"), DEFAULT_LOCK_WAIT_SECONDS, minimum=0
            ),
            aws={name: value for name in AWS_VARIABLES if (value := get(name))},
        )

    @classmethod
    def current(cls) -> Settings:
        """This process's settings, read once per environment: dbt's plugins and Python models all run in one
        dbt process, and share one reading (a process whose environment changes, a test's, reads it again).
        """
        return _settings_of(tuple(sorted(os.environ.items())))

    def prepare_warehouse_folder(self) -> None:
        """Creates the warehouse's folder; raises `ConfigError` when the path cannot hold it."""
        try:
            self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:
            raise ConfigError(
                f"WAREHOUSE_PATH {self.warehouse_path} is under {error.filename}, which is a file, not a folder: "
                "point WAREHOUSE_PATH at a path in a folder"
            ) from None
        except PermissionError as error:
            raise ConfigError(
                f"WAREHOUSE_PATH {self.warehouse_path}: no permission to create {error.filename}"
            ) from None

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_url.startswith("s3://")

    @property
    def fernet_keys(self) -> list[str]:
        """`FERNET_KEY` (comma-separated, newest first); the sandbox key while the sandbox log API is in use."""
        keys = [key.strip() for key in (self.fernet_key or "").split(",") if key.strip()]
        if keys:
            return keys
        if self.log_api_url is None:
            return [SANDBOX_FERNET_KEY]
        raise ConfigError(
            "FERNET_KEY is not set: set it to the key the log API encrypts with (several comma-separated, newest first)"
        )

    def s3_credentials(self) -> dict[str, str]:
        """The lake's AWS credentials, region and endpoint, named as dlt's `AwsCredentials` names them."""
        names = dict(zip(AWS_VARIABLES, AWS_CREDENTIAL_FIELDS, strict=True))
        return {names[variable]: value for variable, value in self.aws.items()}

    def s3_filesystem_options(self) -> dict[str, Any]:
        """Keyword arguments of fsspec's S3 filesystem (s3fs) for the same credentials, with the timeouts."""
        from dlt.common.configuration.specs import AwsCredentials

        options = AwsCredentials(**self.s3_credentials()).to_s3fs_credentials()
        options["config_kwargs"] = {**options.get("config_kwargs", {}), **S3_CLIENT_CONFIG}
        return {name: value for name, value in options.items() if value is not None}

    def duckdb_lake_secret_sql(self) -> str | None:
        """A DuckDB `CREATE SECRET` for the S3 lake from the same settings (None for a local lake).

        Temporary: it lives in the session that runs it and is never written to disk. With it,
        `read_parquet('s3://…')` works in dbt and in `make sql` as it does for the loader.
        """
        if not self.lake_is_s3:
            return None
        bucket = self.lake_url.removeprefix("s3://").split("/", 1)[0]
        options: dict[str, str | bool] = {"type": "s3", "scope": f"s3://{bucket}"}
        for variable, option in (
            ("AWS_ACCESS_KEY_ID", "key_id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session_token"),
            ("AWS_REGION", "region"),
        ):
            if variable in self.aws:
                options[option] = self.aws[variable]
        if endpoint := self.aws.get("AWS_ENDPOINT_URL"):
            parts = urlsplit(endpoint)
            options.update(endpoint=parts.netloc, use_ssl=parts.scheme != "http", url_style="path")
        rendered = ", ".join(
            f"{name} {str(value).lower() if isinstance(value, bool) else _sql_text(value)}"
            for name, value in options.items()
        )
        return f"create or replace temporary secret lake ({rendered})"


@functools.cache
def _settings_of(environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(environment))


def dbt_profile(environ: Mapping[str, str]) -> dict[str, Any]:
    """The output of `profiles.yml` that dbt uses by default, rendered as dbt renders it for `environ`."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in environ:
            return environ[name]
        if default is None:
            raise ConfigError(f"{name} must be set (profiles.yml reads it)")
        return default

    rendered = jinja2.Environment(autoescape=False).from_string(PROFILE_FILE.read_text()).render(env_var=env_var)
    profile = yaml.safe_load(rendered)[PROFILE]
    return profile["outputs"][profile["target"]]


def redact(url: str) -> str:
    """The URL with its password and every query-string value replaced, safe to print in progress and errors.

    Read as SQLAlchemy reads a URL, not as `urlsplit` does: the password runs from the first `:` of the
    user part to the first `@`, so it may hold `/`, `#` or `?` unescaped. The rest is kept as written
    (`sqlite:////tmp/shop.sqlite` keeps its four slashes).
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    userinfo, at, after = rest.partition("@")
    user, colon, _ = userinfo.partition(":")
    if at and colon and "/" not in user:
        rest = f"{user}:***@{after}"
    address, question, query = rest.partition("?")
    if question:
        pairs = (f"{pair.split('=', 1)[0]}=***" if "=" in pair else pair for pair in query.split("&") if pair)
        address = f"{address}?{'&'.join(pairs)}"
    return f"{scheme}://{address}"


def _choice(name: str, raw: str | None, choices: tuple[str, ...]) -> str:
    value = (raw or choices[0]).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _seconds(name: str, raw: str | None, default: int, minimum: int) -> int:
    return _whole_number(name, raw, default, minimum, unit="seconds")


def _whole_number(name: str, raw: str | None, default: int, minimum: int, unit: str) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name} must be a whole number of {unit} ({minimum} or more), got {raw!r}")
    return value


def _under(root: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else root / candidate


def _lake_url(raw: str, root: Path) -> str:
    parts = urlsplit(raw)
    if parts.scheme == "s3":
        if not raw.startswith("s3://") or not parts.netloc:
            raise ConfigError(f"LAKE_URL must be s3://bucket/prefix (a bucket, then an optional prefix), got {raw!r}")
        return raw.rstrip("/")
    scheme = parts.scheme
    if scheme in ("", "file"):
        return str(_under(root, raw.removeprefix("file://")))
    raise ConfigError(f"LAKE_URL must be a local path or s3://bucket/prefix, got {raw!r}")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
