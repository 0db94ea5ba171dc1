"""The dbt project builds green on what the loader landed from the sandbox."""

from __future__ import annotations

import json
import shlex

import pytest

from tests.readers import documentation
from tests.workspace import Workspace


def readme_samples() -> dict[str, list[str]]:
    """The documentation's sample outputs: each `$ <command>` line in a fenced block, to the lines after it."""
    samples, command = {}, None
    for line in documentation().splitlines():
        if line.startswith("$ "):
            command = line[2:]
            samples[command] = []
        elif line.startswith("```") or not line.strip():
            command = None
        elif command:
            samples[command].append(line)
    return samples


@pytest.mark.long
def test_dbt_build_is_green_after_each_of_three_sandbox_ingests_and_the_readmes_samples_are_what_it_shows(tmp_path):
    """`make all` and two more `make ingest && make build` on the sandbox, as the README's samples were made."""
    workspace = Workspace(tmp_path)
    for _ in range(3):
        workspace.ingest()
        output = workspace.dbt("build")
        assert "ERROR=0" in output and "WARN=0" in output

    samples = readme_samples()
    shows = [command for command in samples if command.startswith("dbt show ")]
    assert len(shows) >= 3 and "make report" in samples
    for command in shows:
        shown = workspace.dbt(*shlex.split(command)[1:], "--quiet").strip().splitlines()
        assert shown == samples[command], command
    report = workspace.cli("warehouse", "report")
    assert report.returncode == 0, report.stderr
    compression = report.stdout.splitlines()[: len(samples["make report"])]
    # Parquet files hold each load's id, a time: their sizes vary by a few bytes from run to run.
    exact = [line for line in samples["make report"] if "Parquet" not in line]
    assert [line for line in compression if "Parquet" not in line] == exact
    for shown, documented in zip(compression, samples["make report"], strict=True):
        if "Parquet" in documented:
            assert shown.split("  ")[1] == documented.split("  ")[1]
            assert int(shown.split()[-6].replace(",", "")) == pytest.approx(
                int(documented.split()[-6].replace(",", "")), rel=0.02
            ), shown


def test_every_column_of_every_raw_table_is_described_for_make_docs(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.ingest()
    workspace.dbt("parse")

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    described = {
        (source["name"], column): bool(details.get("description"))
        for source in manifest["sources"].values()
        for column, details in source["columns"].items()
    }
    raw_columns = workspace.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name not like '\\_dlt%' escape '\\'"
    )
    assert raw_columns
    assert [column for column in raw_columns if not described.get(column)] == []
    # The site opens on this project's overview, not dbt's generic page.
    overview = manifest["docs"]["doc.elt_warehouse.__overview__"]
    assert "raw.logs" in overview["block_contents"] and "Lineage graph" in overview["block_contents"]


def test_dbt_run_and_build_with_one_source_loaded_build_what_it_feeds_and_leave_the_other_empty(tmp_path):
    """The other source's staging models read no rows, and its source tests pass on none."""
    models = {"orders": "select count(*) from orders", "logs": "select count(*) from logs"}
    for loaded, missing, commands in (("orders", "logs", ("run", "build")), ("logs", "orders", ("build",))):
        workspace = Workspace(tmp_path / loaded)
        workspace.ingest(loaded)
        for command in commands:
            output = workspace.dbt(command)

            assert "ERROR=0 SKIP=0" in output, output[-3000:]
            assert workspace.query(models[loaded]) != [(0,)]
            assert workspace.query(models[missing]) == [(0,)]
