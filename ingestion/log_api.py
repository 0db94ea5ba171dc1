"""The log API as a dlt source: one poll's records, loaded once per `recordId`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dlt
from dlt.sources import DltResource

logger = logging.getLogger(__name__)

# The API's own field names; dlt's naming convention turns `recordId` into `record_id`.
RAW_COLUMNS = {
    "recordId": {"data_type": "text", "nullable": False},
    "logtimestamp": {"data_type": "text", "nullable": False},
    "data": {"data_type": "text", "nullable": False},
}


@dlt.source(name="log_api")
def log_api(records: list[dict]) -> DltResource:
    """`records` is one poll of the API (see `log_api_client.poll`), shared by every destination."""
    return logs(records)


@dlt.resource(name="logs", write_disposition="append", primary_key="recordId", columns=RAW_COLUMNS)
def logs(
    records: list[dict],
    logged=dlt.sources.incremental("logtimestamp", primary_key="recordId"),  # noqa: B008
) -> Iterator[list[dict]]:
    """Every record not loaded by an earlier poll, exactly as the API sent it.

    Consecutive polls overlap; the cursor on `logtimestamp` plus dlt's de-duplication of
    rows on the boundary (by `recordId`) let each record through once, whatever its token.
    """
    oldest = min((record["logtimestamp"] for record in records), default=None)
    if oldest is not None and logged.start_value is not None and oldest > logged.start_value:
        logger.warning(
            "logs: this poll starts at %s, after the newest record already loaded (%s): records in between "
            "were not served; poll more often",
            oldest,
            logged.start_value,
        )
    yield records
