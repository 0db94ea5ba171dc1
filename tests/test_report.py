"""`make report`: the compression report, and one self-contained HTML page whose charts draw in a real browser."""

from __future__ import annotations

import re

import pytest

from settings import SANDBOX_FERNET_KEY
from tests.browser import chart_marks, rendered_dom
from tests.workspace import Workspace
from warehouse.report_page import CHARTS


@pytest.mark.browser
def test_the_report_page_draws_every_chart_offline_in_a_browser(tmp_path, log_api):
    sandbox, url = log_api
    sandbox.misbehaviour.invalid_token_every = 25  # some records for the quarantine chart
    workspace = Workspace(
        tmp_path, LOG_API_URL=url, FERNET_KEY=SANDBOX_FERNET_KEY, DBT_TARGET_PATH=str(tmp_path / "target")
    )
    assert workspace.cli("ingestion", "run").returncode == 0
    workspace.dbt("build")
    workspace.dbt("source", "freshness")
    page = tmp_path / "report.html"

    result = workspace.cli("warehouse", "report", "--html", str(page))

    assert result.returncode == 0, result.stderr
    assert f"Charts ({len(CHARTS)} of {len(CHARTS)} with data): {page.as_uri()}" in result.stdout
    text = page.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text), "the page must not load anything"
    marks = chart_marks(rendered_dom(page, tmp_path))
    assert set(marks) == {f"chart-{chart.key}" for chart in CHARTS}
    for chart, counts in marks.items():
        assert counts["main-svg"] > 0 and counts["point"] + counts["js-line"] > 0, (chart, counts)
    [(endpoints, stages, loads)] = workspace.query(
        """
        select
            (select count(distinct method || regexp_replace(url, '/[0-9]+/', '/{id}/', 'g')) from logs),
            (select count(*) from log_compression_report),
            (select count(distinct _dlt_load_id) from raw.logs)
        """
    )
    assert marks["chart-busiest-endpoints"]["point"] == min(15, endpoints)
    assert marks["chart-compression"]["point"] == stages
    assert marks["chart-quarantine-share"]["point"] == loads
    assert "<td>logs</td><td>pass: newest load" in text


def test_before_dbt_has_built_anything_the_page_says_so_chart_by_chart(tmp_path, log_api):
    _, url = log_api
    workspace = Workspace(
        tmp_path, LOG_API_URL=url, FERNET_KEY=SANDBOX_FERNET_KEY, DBT_TARGET_PATH=str(tmp_path / "target")
    )
    assert workspace.cli("ingestion", "run").returncode == 0
    page = tmp_path / "report.html"

    result = workspace.cli("warehouse", "report", "--html", str(page))

    assert result.returncode == 0, result.stderr
    assert "no log_compression_report yet: run `dbt build`" in result.stdout
    # The loads are there already: the pipeline's own chart draws; the analyses wait for dbt.
    assert f"Charts (1 of {len(CHARTS)} with data)" in result.stdout
    assert page.read_text().count("No rows yet: run `make all`.") == len(CHARTS) - 1
