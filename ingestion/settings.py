"""Configuration read from the environment (and a `.env` file at the repository root).

The variable names are the project's interface (see README, "Configuration"); everything
else in the package receives a `Settings` value instead of reading the environment itself.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOOKBACK_SECONDS = 3600


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    log_api_url: str | None
    log_api_timeout_seconds: int
    orders_db_url: str | None
    orders_table: str
    orders_lookback_seconds: int
    fernet_keys: str | None
    lake_url: str
    warehouse_path: Path
    pipelines_dir: Path
    sandbox_dir: Path
    aws: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Settings:
        """Reads the settings; `environ` wins over `<root>/.env`, as a shell would expect."""
        env = {**_dotenv(root / ".env"), **(os.environ if environ is None else environ)}

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        return cls(
            log_api_url=get("LOG_API_URL"),
            log_api_timeout_seconds=_seconds("LOG_API_TIMEOUT_SECONDS", get("LOG_API_TIMEOUT_SECONDS"), 30, minimum=1),
            orders_db_url=get("ORDERS_DB_URL"),
            orders_table=get("ORDERS_TABLE") or "Orders",
            orders_lookback_seconds=_seconds(
                "ORDERS_LOOKBACK_SECONDS", get("ORDERS_LOOKBACK_SECONDS"), DEFAULT_LOOKBACK_SECONDS, minimum=0
            ),
            fernet_keys=get("FERNET_KEY"),
            lake_url=_lake_url(get("LAKE_URL") or "data/lake", root),
            warehouse_path=_under(root, get("WAREHOUSE_PATH") or "data/warehouse.duckdb"),
            pipelines_dir=_under(root, get("PIPELINES_DIR") or "data/pipelines"),
            sandbox_dir=_under(root, get("SANDBOX_DIR") or "data/sandbox"),
            aws={
                name: value
                for name in (
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN",
                    "AWS_REGION",
                    "AWS_ENDPOINT_URL",
                )
                if (value := get(name))
            },
        )

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_url.startswith("s3://")


def env_file_exports(root: Path = REPO_ROOT, environ: Mapping[str, str] | None = None) -> str:
    """Shell `export` lines for the `.env` settings the environment does not set already (it wins)."""
    environ = os.environ if environ is None else environ
    return "\n".join(
        f"export {name}={shlex.quote(value)}" for name, value in _dotenv(root / ".env").items() if name not in environ
    )


def redact(url: str) -> str:
    """The URL with any password replaced, safe to print in progress and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def _seconds(name: str, raw: str | None, default: int, minimum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name} must be a whole number of seconds ({minimum} or more), got {raw!r}")
    return value


def _under(root: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else root / candidate


def _lake_url(raw: str, root: Path) -> str:
    scheme = urlsplit(raw).scheme
    if scheme == "s3":
        return raw.rstrip("/")
    if scheme in ("", "file"):
        return str(_under(root, raw.removeprefix("file://")))
    raise ConfigError(f"LAKE_URL must be a local path or s3://bucket/prefix, got {raw!r}")
