"""The log API as a dlt source: each record once per `recordId`, each malformed one kept, a ledger row per poll."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import dlt
from dlt.sources import DltResource

from ingestion.log_api_client import Poll
from settings.sources import LOGS

logger = logging.getLogger(__name__)

# A changed type or an unexpected column can never alter the raw tables: such data fails the extract.
RAW_SCHEMA_CONTRACT = {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}
# The API's own field names; dlt's naming convention turns `recordId` into `record_id`.
LOGS_COLUMNS = {
    "recordId": {"data_type": "text", "nullable": False},
    "logtimestamp": {"data_type": "text", "nullable": False},
    "data": {"data_type": "text", "nullable": False},
}
REJECTED_COLUMNS = {
    "record_json": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
}
POLLS_COLUMNS = {
    "polled_at": {"data_type": "timestamp", "nullable": False},
    "served": {"data_type": "bigint", "nullable": False},
    "new": {"data_type": "bigint", "nullable": False},
    "known": {"data_type": "bigint", "nullable": False},
    "rejected": {"data_type": "bigint", "nullable": False},
    "oldest_logtimestamp": {"data_type": "text", "nullable": True},
    "newest_logtimestamp": {"data_type": "text", "nullable": True},
    "overlaps_previous": {"data_type": "bool", "nullable": True},
}
# Ids extracted by this many recent polls (at least) are remembered in the state: they cover packages not
# loaded yet.
RECENT_POLLS = 10


@dlt.source(name=LOGS.dlt_name, schema_contract=RAW_SCHEMA_CONTRACT)
def log_api(polls: list[Poll], already_loaded: Callable[[list[str]], set[str]]) -> DltResource:
    """`polls` are answers of the API waiting for one destination, oldest first (`waiting_polls`);
    `already_loaded` asks that destination which of some record ids it holds.
    """
    resource = logs(polls, already_loaded)
    tables = {"logs": LOGS_COLUMNS, "logs_rejected": REJECTED_COLUMNS, "log_api_polls": POLLS_COLUMNS}
    for table, columns in tables.items():
        # Parquet for both destinations: the lake's raw files are Parquet, and DuckDB loads it natively.
        resource.apply_hints(table_name=table, columns=columns, file_format="parquet", create_table_variant=True)
    return resource


@dlt.resource(name="logs", write_disposition="append")
def logs(polls: list[Poll], already_loaded: Callable[[list[str]], set[str]]) -> Iterator:
    """Per poll: its records whose `recordId` the destination does not hold yet, exactly as sent, whatever their
    time; its malformed elements to `logs_rejected`; and one row about the poll to `log_api_polls`.
    """
    state = dlt.current.resource_state()
    recent: list[list[str]] = state.setdefault("recent_ids", [])
    known_ids = already_loaded(sorted({record["recordId"] for poll in polls for record in poll.records}))
    known_ids.update(record_id for ids in recent for record_id in ids)
    for poll in polls:
        yield from _poll_rows(poll, state, known_ids)
    # Every id this extract took stays known until its package is loaded, however many polls it held.
    del recent[: -max(RECENT_POLLS, len(polls))]
    state["extracted_polls"] = [poll.id for poll in polls]


def _poll_rows(poll: Poll, state: dict, known_ids: set[str]) -> Iterator:
    recent: list[list[str]] = state["recent_ids"]
    new: list[dict] = []
    for record in poll.records:
        if record["recordId"] not in known_ids:
            new.append(record)
            known_ids.add(record["recordId"])

    stamps = [record["logtimestamp"] for record in poll.records]
    oldest, newest = min(stamps, default=None), max(stamps, default=None)
    newest_loaded, previous_newest = state.get("newest_logtimestamp"), state.get("previous_poll_newest")
    if oldest is not None and newest_loaded is not None and oldest > newest_loaded:
        logger.warning(
            "logs: this poll starts at %s, after the newest record already loaded (%s): records in between "
            "were not served; poll more often",
            oldest,
            newest_loaded,
        )
    recent.append([record["recordId"] for record in new])
    if new:
        state["newest_logtimestamp"] = max(newest_loaded or "", *(record["logtimestamp"] for record in new))
    if newest is not None:
        state["previous_poll_newest"] = newest

    if new:
        yield dlt.mark.with_table_name(new, "logs")
    if poll.rejected:
        rows = [{"record_json": reject.record_json, "reason": reject.reason} for reject in poll.rejected]
        yield dlt.mark.with_table_name(rows, "logs_rejected")
    yield dlt.mark.with_table_name(
        {
            "polled_at": poll.polled_at,
            "served": poll.served,
            "new": len(new),
            "known": len(poll.records) - len(new),
            "rejected": len(poll.rejected),
            "oldest_logtimestamp": oldest,
            "newest_logtimestamp": newest,
            "overlaps_previous": None if previous_newest is None or oldest is None else oldest <= previous_newest,
        },
        "log_api_polls",
    )
