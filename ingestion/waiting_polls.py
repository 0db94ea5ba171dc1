"""Each destination's copy of a log API poll, kept on disk until that destination has extracted it.

The API serves only its latest records: a poll that a destination could not take (it was down, or
still had earlier packages to load) cannot be fetched again. So every poll is written here first,
once per destination, and the next extract for that destination reads every copy it has, oldest
first, de-duplicating against what the destination holds then. The ids of the polls an extract
took are kept in the destination's dlt state, which is committed with the package: a copy is
never extracted twice, even by a run killed between extracting it and deleting its file.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path

import dlt

from ingestion.log_api_client import Poll

FOLDER = "waiting_polls"


def folder_of(pipeline: dlt.Pipeline) -> Path:
    """Next to the pipeline's own folder, in the destination's working folder."""
    return Path(pipeline.pipelines_dir) / FOLDER / pipeline.pipeline_name


def keep(poll: Poll, folders: Iterable[Path]) -> None:
    """Writes `poll` to each folder, atomically (readable by its owner only: the tokens are secret-bearing)."""
    text = poll.as_json()
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{poll.id}.json.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(folder / f"{poll.id}.json")


def forget(folder: Path, extracted: Collection[str]) -> None:
    """Deletes the copies of the polls in `extracted` (their package holds them now)."""
    for poll_id in extracted:
        (folder / f"{poll_id}.json").unlink(missing_ok=True)


def waiting_ids(folder: Path, extracted: Collection[str]) -> list[str]:
    """The ids of the polls waiting in `folder` (not in `extracted`), oldest first."""
    return [path.stem for path in sorted(folder.glob("*.json")) if path.stem not in extracted]


def waiting(folder: Path, extracted: Collection[str]) -> list[Poll]:
    """The polls waiting in `folder`, oldest first, less those in `extracted`, whose copies are deleted."""
    forget(folder, extracted)
    return [Poll.from_json(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
