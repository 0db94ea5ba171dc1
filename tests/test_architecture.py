"""The folders show the data path, and dependencies point one way, towards the shared `settings` and `runtime`."""

from __future__ import annotations

import ast
from pathlib import Path

from settings import REPO_ROOT

PACKAGES = ("settings", "runtime", "sandbox", "ingestion", "warehouse", "transforms", "orchestration")


def imported_packages(folder: str) -> dict[str, set[str]]:
    """For each Python file under `folder`: the project's packages it imports."""
    imports: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        imports[str(path.relative_to(REPO_ROOT))] = names & set(PACKAGES)
    return imports


def test_the_loader_and_the_transformations_depend_only_on_settings_and_runtime():
    shared = {"settings", "runtime"}
    for folder, allowed in (
        ("transforms", shared | {"transforms"}),
        ("models", shared | {"transforms"}),
        ("ingestion", shared | {"ingestion", "sandbox"}),
        # It runs dbt; on Spark it registers the transformation code the models call (warehouse/spark.py).
        ("warehouse", shared | {"warehouse", "transforms"}),
        ("runtime", shared),
        ("settings", {"settings"}),
        # On top: it runs the loader and dbt.
        ("orchestration", shared | {"ingestion"}),
    ):
        for path, packages in imported_packages(folder).items():
            assert packages <= allowed, f"{path} imports {sorted(packages - allowed)}"


def test_only_the_sandbox_chooser_reaches_the_sandboxes():
    importers = [
        path
        for folder in ("ingestion", "warehouse", "transforms", "models", "settings", "runtime")
        for path, packages in imported_packages(folder).items()
        if "sandbox" in packages
    ]
    assert importers == [str(Path("ingestion") / "sandboxes.py")]


def test_the_sandboxes_are_chosen_at_the_edge_and_the_loader_receives_plain_urls():
    """Only the entry points (the command line, Dagster) turn unset sources into sandboxes."""
    choosers = sorted(
        str(path.relative_to(REPO_ROOT))
        for folder in ("ingestion", "warehouse", "orchestration")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if "ingestion.sandboxes" in path.read_text() and path.name != "sandboxes.py"
    )
    assert choosers == [str(Path("ingestion") / "cli.py"), str(Path("orchestration") / "dagster_definitions.py")]
