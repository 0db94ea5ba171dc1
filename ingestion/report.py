"""A run's report: rows loaded per source and destination, what went wrong, and the record `status` reads."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

from settings import Settings

# The last run of each source (when, how long, rows per destination, errors), for `status`.
LAST_RUNS = "last_runs.json"


@dataclass
class Outcome:
    """What one step did: rows loaded (and malformed records kept) per (source, destination), what it met."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    rejected: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The destinations that loaded a package an earlier run left.
    completed_earlier: set[str] = field(default_factory=set)


@dataclass
class Report(Outcome):
    """A run: what its steps did (`add`), where each destination is, and each source's run, for the summary."""

    where: dict[str, str] = field(default_factory=dict)
    # The raw table of each source, where it is not named after the source (orders in binlog mode).
    tables: dict[str, str] = field(default_factory=dict)
    # Per source: when its run started, how long it took, and the errors it met.
    runs: dict[str, dict] = field(default_factory=dict)
    # The sources reloaded whole (`--full-refresh`): their rows are not new.
    refreshed: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, outcome: Outcome) -> None:
        self.rows.update(outcome.rows)
        self.rejected.update(outcome.rejected)
        self.errors += outcome.errors
        self.warnings += outcome.warnings
        self.notes += outcome.notes
        self.completed_earlier |= outcome.completed_earlier

    def as_json(self) -> dict:
        """Rows per source and destination, warnings and errors, for another program."""
        rows: dict[str, dict[str, int]] = {}
        for (source, destination), count in self.rows.items():
            rows.setdefault(source, {})[destination] = count
        return {"rows": rows, "warnings": self.warnings, "errors": self.errors}

    def source_runs(self) -> dict[str, dict]:
        """Each source's run as `status` shows it: started_at, seconds, rows and rejected per destination, errors."""
        return {
            source: {
                **run,
                "rows": {destination: rows for (name, destination), rows in self.rows.items() if name == source},
                "rejected": {
                    destination: rows for (name, destination), rows in self.rejected.items() if name == source
                },
            }
            for source, run in self.runs.items()
        }

    def summary(self) -> str:
        lines = [""]
        if self.rows:
            refreshed = "".join(f"; {source}: the whole table, --full-refresh" for source in sorted(self.refreshed))
            lines.append(f"Loaded (new rows{refreshed}):")
        for (source, destination), rows in self.rows.items():
            lines.append(
                f"  {source:<7} -> {destination:<9} {rows:>8,} rows   "
                + self.where[destination].format(table=self.tables.get(source, source))
            )
        lines += [
            f"  {source:<7} -> {destination:<9} {rows:>8,} malformed records kept in "
            + self.where[destination].format(table=f"{source}_rejected")
            for (source, destination), rows in self.rejected.items()
            if rows
        ]
        lines += [
            f"  (+ rows of an unfinished earlier run, now loaded into the {name})" for name in self.completed_earlier
        ]
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [f"error: {error}" for error in _each_once(self.errors)]
        return "\n".join(lines)


def _each_once(errors: list[str]) -> list[str]:
    """The errors, those that differ only in their destination said once: `orders -> warehouse, lake: …`."""
    destinations: dict[tuple[str, str], list[str]] = {}
    for error in errors:
        source, arrow, rest = error.partition(" -> ")
        destination, colon, message = rest.partition(": ")
        if not (arrow and colon) or " " in source or " " in destination:
            source, destination, message = "", "", error
        destinations.setdefault((source, message), []).append(destination)
    return [
        f"{source} -> {', '.join(names)}: {message}" if source else message
        for (source, message), names in destinations.items()
    ]


def source_run(started_at: datetime, started: float, errors: list[str]) -> dict:
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "errors": errors,
    }


def save_last_runs(settings: Settings, report: Report) -> None:
    """Records each source's run in `<PIPELINES_DIR>/last_runs.json`, next to dlt's own state."""
    path = settings.pipelines_dir / LAST_RUNS
    runs = json.loads(path.read_text()) if path.exists() else {}
    runs.update(report.source_runs())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(runs, indent=2))
    partial.replace(path)
