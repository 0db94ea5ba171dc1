"""The dbt project builds green on what the loader landed from the sandbox."""

from __future__ import annotations

import json

from tests.workspace import Workspace


def test_dbt_build_is_green_after_each_of_two_sandbox_ingests(tmp_path):
    workspace = Workspace(tmp_path)
    for _ in range(2):
        workspace.ingest()
        output = workspace.dbt("build")
        assert "ERROR=0" in output and "WARN=0" in output


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
