"""The dbt project builds green on what the loader landed from the sandbox."""

from __future__ import annotations

from tests.workspace import Workspace


def test_dbt_build_is_green_after_each_of_two_sandbox_ingests(tmp_path):
    workspace = Workspace(tmp_path)
    for _ in range(2):
        workspace.ingest()
        output = workspace.dbt("build")
        assert "ERROR=0" in output and "WARN=0" in output
