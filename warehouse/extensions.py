"""DuckDB extensions installed from their PyPI wheels: no download at run time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

WHEEL_PACKAGES = {"httpfs": "duckdb_extension_httpfs", "mysql_scanner": "duckdb_extension_mysql_scanner"}


def install_bundled_extensions() -> list[str]:
    """Installs each bundled extension into DuckDB's extension directory; returns their names."""
    connection = duckdb.connect()
    installed = []
    for name, package in WHEEL_PACKAGES.items():
        path = _extension_file(name, package)
        connection.execute(f"install '{path}'")
        connection.execute(f"load {name}")
        installed.append(name)
    return installed


def _extension_file(name: str, package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package} wheel is not installed: run `make setup`")
    version = duckdb.__version__
    candidates = [
        Path(folder) / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
        for folder in spec.submodule_search_locations
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"{package} carries no {name} extension for DuckDB {version}: pin both to the same version")
