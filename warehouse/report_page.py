"""`make report`'s HTML page: the analyses and the pipeline's health as charts, in one self-contained file.

plotly.js is inlined once (no network needed to open the page); each chart is a plotly figure built
from one query on the warehouse. A chart with no rows yet says so instead of drawing empty axes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from runtime.dbt_artifacts import freshness_verdicts
from settings import Settings

Rows = list[tuple]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    question: str
    sql: str
    draw: Callable[[Rows], go.Figure]


def _by_series(rows: Rows) -> dict[str, tuple[list, list]]:
    """(x, series, y) rows as one (xs, ys) pair per series, in first-seen order."""
    series: dict[str, tuple[list, list]] = {}
    for x, name, y in rows:
        xs, ys = series.setdefault(str(name), ([], []))
        xs.append(x)
        ys.append(y)
    return series


def _stacked_bars(rows: Rows, colors: dict[str, str] | None = None) -> go.Figure:
    figure = go.Figure(
        [
            go.Bar(name=name, x=xs, y=ys, marker_color=(colors or {}).get(name))
            for name, (xs, ys) in _by_series(rows).items()
        ]
    )
    return figure.update_layout(barmode="stack")


def _levels(rows: Rows) -> go.Figure:
    return _stacked_bars(rows, {"CRITICAL": "#7f0000", "ERROR": "#d62728", "WARNING": "#ff9f1c"})


def _per_load(rows: Rows, percent: bool = False) -> go.Figure:
    """One bar per load, loads evenly spaced (they come minutes or days apart)."""
    rows = [(when.strftime("%Y-%m-%d %H:%M:%S"), name, value) for when, name, value in rows]
    figure = _stacked_bars(rows).update_xaxes(type="category", title="load (UTC)")
    return figure.update_yaxes(tickformat=".0%", rangemode="tozero") if percent else figure


def _lines(rows: Rows) -> go.Figure:
    return go.Figure([go.Scatter(name=name, x=xs, y=ys, mode="lines") for name, (xs, ys) in _by_series(rows).items()])


def _endpoints(rows: Rows) -> go.Figure:
    rows = list(reversed(rows))  # the busiest on top
    figure = go.Figure(go.Bar(x=[count for _, count in rows], y=[name for name, _ in rows], orientation="h"))
    return figure.update_layout(margin={"l": 260})


def _histogram(rows: Rows) -> go.Figure:
    figure = go.Figure(go.Histogram(x=[hours for (hours,) in rows], nbinsx=30))
    return figure.update_layout(xaxis_title="hours", yaxis_title="orders")


def _compression(rows: Rows) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=[size for _, size, _ in rows],
            y=[stage for stage, _, _ in rows],
            orientation="h",
            text=[f"{ratio:.1%} of raw JSON" for _, _, ratio in rows],
        )
    )
    return figure.update_layout(margin={"l": 340}, xaxis_title="bytes", yaxis={"autorange": "reversed"})


CHARTS = (
    Chart(
        "requests-per-hour",
        "Requests per hour, by method",
        "How busy was the API, and with what?",
        """
        select date_trunc('hour', logged_at), coalesce(method, 'unknown'), count(*)
        from logs where logged_at is not null group by all order by 1, 2
        """,
        _stacked_bars,
    ),
    Chart(
        "errors-per-hour",
        "Errors and warnings per hour",
        "When did the API log errors (and warnings)?",
        """
        select date_trunc('hour', logged_at), detail_levelname, count(*)
        from logs where detail_levelname in ('ERROR', 'CRITICAL', 'WARNING') and logged_at is not null
        group by all order by 1, 2
        """,
        _levels,
    ),
    Chart(
        "busiest-endpoints",
        "Busiest endpoints",
        "Which endpoints get the most requests? (ids folded into {id})",
        """
        select method || ' ' || regexp_replace(url, '/[0-9]+/', '/{id}/', 'g'), count(*)
        from logs group by all order by 2 desc, 1 limit 15
        """,
        _endpoints,
    ),
    Chart(
        "orders-by-status",
        "Orders in each status over time",
        "How many orders were in each status at the end of each day?",
        "select status_date, order_status, orders_in_status from order_status_daily order by 1, 2",
        _lines,
    ),
    Chart(
        "backordered-to-shipped",
        "Time from backordered to shipped",
        "For orders that were backordered, how long did they wait until they shipped?",
        """
        with backordered as (
            select order_id, min(valid_from) as at from order_status_history
            where order_status = 'Backordered' group by order_id
        ),
        shipped as (
            select order_id, min(valid_from) as at from order_status_history
            where order_status = 'Shipped' group by order_id
        )
        select date_diff('minute', backordered.at, shipped.at) / 60
        from backordered inner join shipped using (order_id)
        where shipped.at > backordered.at
        """,
        _histogram,
    ),
    Chart(
        "compression",
        "Log compression",
        "How small do the log records get at each stage? (`make report` prints the same)",
        "select stage, bytes, ratio_to_raw_json from log_compression_report order by position",
        _compression,
    ),
    Chart(
        "rows-per-run",
        "Pipeline: rows loaded per run",
        "How many new rows did each load bring into the warehouse?",
        """
        select to_timestamp(cast(_dlt_load_id as double)), 'logs', count(*) from raw.logs group by all
        union all
        select to_timestamp(cast(_dlt_load_id as double)), 'orders', count(*) from raw.orders group by all
        order by 1, 2
        """,
        _per_load,
    ),
    Chart(
        "quarantine-share",
        "Pipeline: share of each load's log records in quarantine",
        "Did a load bring records that could not be decrypted or parsed?",
        """
        with loaded as (select _dlt_load_id, count(*) as records from raw.logs group by all),
        quarantined as (select _dlt_load_id, count(*) as records from logs_quarantine group by all)
        select to_timestamp(cast(_dlt_load_id as double)), 'quarantined',
            coalesce(quarantined.records, 0) / loaded.records
        from loaded left join quarantined using (_dlt_load_id)
        order by 1
        """,
        lambda rows: _per_load(rows, percent=True),
    ),
)


def write_report_page(settings: Settings, path: Path, now: datetime | None = None) -> int:
    """Writes the page to `path`; returns how many charts have data."""
    now = now or datetime.now(UTC)
    sections, drawn = [], 0
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        for chart in CHARTS:
            try:
                rows = warehouse.execute(chart.sql).fetchall()
            except duckdb.CatalogException:
                rows = []
            sections.append(_section(chart, rows))
            drawn += bool(rows)
    freshness = freshness_verdicts(settings.warehouse_path)
    page = PAGE.format(
        plotly=get_plotlyjs(),
        generated=now.strftime("%Y-%m-%d %H:%M UTC"),
        warehouse=html.escape(str(settings.warehouse_path)),
        freshness=_freshness_table(freshness),
        sections="\n".join(sections),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    return drawn


def _section(chart: Chart, rows: Rows) -> str:
    heading = f"<h2>{html.escape(chart.title)}</h2><p>{html.escape(chart.question)}</p>"
    if not rows:
        return f'<section id="{chart.key}">{heading}<p class="empty">No rows yet: run `make all`.</p></section>'
    figure = chart.draw(rows).update_layout(height=380, template="plotly_white", margin_t=30)
    body = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{chart.key}", config={"displayModeBar": False}
    )
    return f'<section id="{chart.key}">{heading}{body}</section>'


def _freshness_table(freshness: dict[str, dict]) -> str:
    if not freshness:
        return "<p>Freshness: not checked yet (<code>dbt source freshness</code>).</p>"
    rows = "".join(
        f"<tr><td>{source}</td><td>{html.escape(verdict['verdict'])}</td></tr>" for source, verdict in freshness.items()
    )
    checked = next(iter(freshness.values()))["checked_at"].strftime("%Y-%m-%d %H:%M UTC")
    return f"<h2>Pipeline: source freshness</h2><p>As checked at {checked}.</p><table>{rows}</table>"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ELT warehouse report</title>
<script>{plotly}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
section {{ margin-bottom: 2.5rem; }}
h2 {{ margin-bottom: 0.2rem; }}
p {{ margin-top: 0.2rem; color: #555; }}
td {{ padding: 0.2rem 1rem 0.2rem 0; }}
.empty {{ font-style: italic; }}
</style>
</head>
<body>
<h1>ELT warehouse report</h1>
<p>Generated {generated} from {warehouse}.</p>
{sections}
{freshness}
</body>
</html>
"""
