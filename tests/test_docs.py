"""The README and docs/: short enough to read, every link resolving, nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from settings import REPO_ROOT
from tests.readers import PAGES

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_readme_is_read_in_ten_minutes():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 250


def test_every_link_of_the_readme_and_the_docs_resolves_inside_the_repository():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_relative_to(REPO_ROOT) or not file.exists():
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such file in the repository)")
            elif anchor and anchor not in anchors(file):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such heading)")
    assert broken == []


def test_nothing_refers_to_files_outside_the_repository():
    mentions = [
        f"{page.relative_to(REPO_ROOT)}: {name}"
        for page in PAGES
        for name in ("DESIGN.md", "STYLE.md", "../shared")
        if name in page.read_text()
    ]
    assert mentions == []
