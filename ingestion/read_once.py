"""One read of a source for both destinations.

Each destination keeps its own dlt state, and so its own place in the source (a `LastUpdated`
cursor, a binlog position): one that was down for a few runs reads on from where it stopped. But
most runs find both at the same place, and then both would read the same rows. Here the first
destination's extract reads the source and keeps the Arrow tables it yields (in Arrow IPC files,
so memory stays flat); a destination whose state starts where that one's did gets those tables and
the state they led to, without a read of its own. Each extract still commits its package and its
state together, so a run killed between the two leaves the second destination at its old place,
from where the next run reads for it again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.sources import DltSource


@dataclass
class _Read:
    """What one pipeline's extract read: where its state started, and the tables kept in `folder`."""

    pipeline: dlt.Pipeline
    start: dict
    folder: Path
    files: list[Path] = field(default_factory=list)
    kept_all: bool = True  # False once an item came that is not an Arrow table


class ReadOnce:
    """Sources of one resource (`resource` of the dlt source `source_name`, under `schema_contract`) read once per
    run for every pipeline that starts from the same state; files under `folder`, which the caller removes."""

    def __init__(self, folder: Path, source_name: str, resource: str, schema_contract: dict | None = None) -> None:
        self.folder, self.source_name, self.resource = folder, source_name, resource
        self.schema_contract = schema_contract
        self.reads: list[_Read] = []

    def source(self, pipeline: dlt.Pipeline, extracted: list[dlt.Pipeline], read: Callable[[], DltSource]) -> DltSource:
        """The source to extract into `pipeline`: what an extracted pipeline that started from the same state
        read, or `read()`, kept as it is yielded for the pipelines that come next."""
        start = self._state(pipeline)
        for earlier in self.reads:
            if earlier.kept_all and earlier.start == start and earlier.pipeline in extracted:
                return self._replay(earlier)
        kept = _Read(pipeline, start, self.folder / str(len(self.reads)))
        kept.folder.mkdir(parents=True)
        self.reads.append(kept)
        source = read()
        source.resources[self.resource].add_map(lambda item: _keep(kept, item))
        return source

    def _state(self, pipeline: dlt.Pipeline) -> dict:
        sources = pipeline.state.get("sources", {})
        return copy.deepcopy(sources.get(self.source_name, {}).get("resources", {}).get(self.resource, {}))

    def _replay(self, earlier: _Read) -> DltSource:
        """The tables `earlier` read, and at their end the state its pipeline was left in."""
        end = self._state(earlier.pipeline)
        schema = earlier.pipeline.schemas[self.source_name]
        # the column hints the read gave (types, precision, nullability), less the columns dlt adds itself
        hints = schema.get_table_columns(self.resource) if self.resource in schema.tables else {}
        columns = {name: column for name, column in hints.items() if not name.startswith("_dlt")}
        resource_name = self.resource

        def tables() -> Iterator[pa.Table]:
            for path in earlier.files:
                with pa.memory_map(str(path)) as mapped:
                    yield pa.ipc.open_file(mapped).read_all()
            state = dlt.current.resource_state(resource_name)
            state.clear()
            state.update(copy.deepcopy(end))

        @dlt.source(name=self.source_name, schema_contract=self.schema_contract)
        def replayed():
            return dlt.resource(tables(), name=resource_name, write_disposition="append", columns=columns or None)

        return replayed()


def _keep(read: _Read, item: object) -> object:
    """Passes `item` on, keeping a copy of it when it is an Arrow table."""
    if isinstance(item, pa.RecordBatch):
        item_table = pa.Table.from_batches([item])
    elif isinstance(item, pa.Table):
        item_table = item
    else:
        read.kept_all = False
        return item
    if read.kept_all:
        path = read.folder / f"{len(read.files):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, item_table.schema) as writer:
            writer.write_table(item_table)
        read.files.append(path)
    return item
