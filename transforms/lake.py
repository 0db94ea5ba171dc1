"""The lake as a filesystem (a local folder or an S3 prefix): atomic publishing, listings and staging."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fsspec

from settings import S3_FILESYSTEM_RETRIES, Settings

STAGING_ATTEMPTS = 5


class LakeUnavailableError(RuntimeError):
    """The lake could not be written; the message says which settings to check."""


@dataclass(frozen=True)
class Lake:
    """The lake's root as an fsspec filesystem: a local folder or an S3 prefix."""

    filesystem: fsspec.AbstractFileSystem
    root: str
    is_local: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        if not settings.lake_is_s3:
            return cls(fsspec.filesystem("file"), settings.lake_url, is_local=True)
        filesystem = fsspec.filesystem("s3", skip_instance_cache=True, **settings.s3_filesystem_options())
        filesystem.retries = S3_FILESYSTEM_RETRIES
        return cls(filesystem, settings.lake_url.removeprefix("s3://"), is_local=False)

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def publish(self, local_file: Path, *parts: str) -> None:
        """Puts `local_file` at `parts`, replacing what was there in one atomic step."""
        target = self.path(*parts)
        if self.is_local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_file, target)
        else:
            self.filesystem.put_file(str(local_file), target)

    def files(self, *parts: str) -> dict[str, int]:
        """Every file under `parts`, by its path below them, with its size (one listing, however many)."""
        folder = self.path(*parts).rstrip("/")
        if not self.filesystem.exists(folder):
            return {}
        found = self.filesystem.find(folder, detail=True)
        return {name.removeprefix(folder).strip("/"): int(info["size"]) for name, info in found.items()}

    def remove_file(self, *parts: str) -> None:
        self.filesystem.rm_file(self.path(*parts))
        if self.is_local:
            _remove_empty_folders(Path(self.path(*parts)).parent, stop=Path(self.root))

    def remove_others(self, keep: str, *parts: str) -> None:
        """Deletes files in the partition folder other than `keep` (left by an older layout)."""
        folder = self.path(*parts)
        for file in self.filesystem.find(folder):
            if file.rstrip("/").split("/")[-1] != keep:
                self.filesystem.rm_file(file)

    def staging_folder(self, name: str) -> Path:
        """Where a run writes before publishing: on the lake's own disk, so that a rename is atomic.

        What a run cut off mid-way left there is cleared first (runs of one export never overlap:
        dbt holds the warehouse's lock).
        """
        if not self.is_local:
            return Path(tempfile.mkdtemp(prefix=f"lake-export-{name}-"))
        parent = Path(self.root) / "exports" / "_staging" / name
        shutil.rmtree(parent, ignore_errors=True)
        folder = parent / uuid.uuid4().hex
        # The other exports share `_staging` and remove it when it empties: if that happens between
        # creating it and creating our folder in it, create it again. pathlib then raises
        # FileNotFoundError, or FileExistsError when `_staging` existed at its mkdir but was gone
        # by its `is_dir()` check.
        for _ in range(STAGING_ATTEMPTS - 1):
            try:
                folder.mkdir(parents=True)
                return folder
            except (FileNotFoundError, FileExistsError):
                continue
        folder.mkdir(parents=True)
        return folder

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """A staging folder (`staging_folder`) for the block, cleared after it whatever happens."""
        folder = self.staging_folder(name)
        try:
            yield folder
        finally:
            self.clear_staging(folder)

    def clear_staging(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        if self.is_local:
            _remove_empty_folders(folder.parent, stop=Path(self.root) / "exports")


def _remove_empty_folders(folder: Path, stop: Path) -> None:
    """Removes `folder` and its parents below `stop` while they are empty.

    Exports running at once (dbt's threads) share the folders above their own: removing is tried,
    not checked first, and a folder another export fills or has already removed ends the walk.
    """
    while folder != stop:
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone already
            return
        folder = folder.parent
