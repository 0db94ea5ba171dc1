"""A real browser for the tests: Debian's Chromium, headless, rendering a page and handing back its DOM."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

# Elements a drawn plotly chart holds: its SVG layers, and one mark per bar or line.
MARKS = ("main-svg", "point", "js-line")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError("Chromium is missing: `make test` installs Debian's `chromium` package (as root)")
    return found


def rendered_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM once its scripts ran, from headless Chromium with no network."""
    result = subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            # No network at all: the page must carry everything it needs.
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def chart_marks(dom: str) -> dict[str, dict[str, int]]:
    """Per element whose id starts with `chart-`: how many of each of `MARKS` it holds."""

    class Counter(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str | None] = []
            self.counts: dict[str, dict[str, int]] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            attributes = dict(attrs)
            element_id = attributes.get("id") or ""
            chart = element_id if element_id.startswith("chart-") else (self.open[-1] if self.open else None)
            if tag not in VOID:
                self.open.append(chart)
            if chart is not None:
                counts = self.counts.setdefault(chart, dict.fromkeys(MARKS, 0))
                for mark in set(MARKS) & set((attributes.get("class") or "").split()):
                    counts[mark] += 1

        def handle_endtag(self, tag: str) -> None:
            if tag not in VOID and self.open:
                self.open.pop()

    counter = Counter()
    counter.feed(dom)
    return counter.counts
