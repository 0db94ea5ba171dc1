"""What dbt left in its target folder that the project's tools read: the last source freshness check."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from settings import REPO_ROOT
from settings.sources import SOURCES

# Written as `dbt source freshness` starts (by the run-lock plugin): the warehouse it checks, and when.
CHECKED_WAREHOUSE = "sources_warehouse.json"


def target_folder() -> Path:
    """dbt's target folder (DBT_TARGET_PATH, or `target/` at the repository root)."""
    return REPO_ROOT / os.environ.get("DBT_TARGET_PATH", "target")


def record_freshness_check(target: Path, warehouse: Path) -> None:
    """Notes, as `dbt source freshness` starts, which warehouse the `sources.json` it writes describes."""
    target.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC).isoformat()
    (target / CHECKED_WAREHOUSE).write_text(
        json.dumps({"warehouse": str(warehouse.resolve()), "started_at": started_at})
    )


def checked_warehouse() -> Path | None:
    """The warehouse the last `dbt source freshness` in this target folder checked, if it finished."""
    check = read_json(target_folder() / CHECKED_WAREHOUSE)
    artifact = read_json(target_folder() / "sources.json")
    if not check or not artifact:
        return None
    if _instant(artifact["metadata"]["generated_at"]) < datetime.fromisoformat(check["started_at"]):
        return None  # that check did not write its results: these are an earlier check's, of unknown origin
    return Path(check["warehouse"])


def freshness_verdicts(warehouse: Path) -> dict[str, dict]:
    """Per source of ours: the verdict of the last `dbt source freshness` of `warehouse`, with its age and
    limits; none when the last check in this target folder was of another warehouse (a project checked
    out once, run with several WAREHOUSE_PATHs).
    """
    artifact = read_json(target_folder() / "sources.json")
    if not artifact or checked_warehouse() != warehouse.resolve():
        return {}
    checked_at = _instant(artifact["metadata"]["generated_at"])
    results = {result["unique_id"].split(".", 2)[2]: result for result in artifact.get("results", [])}
    verdicts = {}
    for name, source in SOURCES.items():
        result = results.get(f"{source.dlt_name}.{source.newest[0]}")
        if result is None:
            continue
        if result["status"] == "runtime error":
            verdict = f"could not be checked ({result.get('error') or 'runtime error'})"
        else:
            criteria = result["criteria"]
            limits = ", ".join(
                f"{name.split('_')[0]} after {_limit(criteria[name])}"
                for name in ("warn_after", "error_after")
                if criteria.get(name) and criteria[name].get("count") is not None
            )
            age = duration(result["max_loaded_at_time_ago_in_s"])
            verdict = f"{result['status']}: newest load {age} old ({limits})"
        verdicts[name] = {"verdict": verdict, "checked_at": checked_at}
    return verdicts


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _limit(limit: dict) -> str:
    seconds = int(limit["count"]) * {"minute": 60, "hour": 3600, "day": 86400}[limit["period"]]
    return duration(seconds)


def duration(seconds: float) -> str:
    """`seconds` as a person reads it: 45 s, 12 min, 2.5 h, 7 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:.0f} s"


def read_json(path: Path) -> dict | None:
    """The JSON in `path`; None when it is missing or unreadable (a run may be writing it)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
