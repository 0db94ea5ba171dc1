"""HTTP access to the log API: one poll, retried the way dlt's HTTP client retries."""

from __future__ import annotations

from dlt.sources.helpers.requests import Client
from requests import RequestException

REQUIRED_FIELDS = ("recordId", "logtimestamp", "data")


class LogApiError(RuntimeError):
    """The log API could not be polled, or answered something that is not a page of records."""


def poll(url: str, timeout: float = 10.0, attempts: int = 5, backoff: float = 1.0) -> list[dict]:
    """Returns the records of one GET of `url`, exactly as sent.

    5xx answers, timeouts and dropped connections are retried with exponential backoff
    (dlt's retrying client); a body that is not a JSON array of records raises at once.
    """
    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=30,
        raise_for_status=True,
    )
    try:
        response = client.get(url)
    except RequestException as error:
        raise LogApiError(
            f"log API at {url} failed after {attempts} attempts ({_reason(error)}); "
            "check LOG_API_URL, or run again later"
        ) from error
    try:
        records = response.json()
    except ValueError as error:
        raise LogApiError(
            f"log API at {url} answered a body that is not JSON "
            f"({response.headers.get('Content-Type', 'no content type')}, starts {response.text[:40]!r}); "
            "nothing from this poll was loaded"
        ) from error
    _check_page(url, records)
    return records


def _check_page(url: str, records: object) -> None:
    if not isinstance(records, list):
        raise LogApiError(f"log API at {url} answered JSON that is not an array; nothing from this poll was loaded")
    for position, record in enumerate(records):
        missing = [name for name in REQUIRED_FIELDS if not isinstance(record, dict) or record.get(name) is None]
        if missing:
            raise LogApiError(
                f"log API at {url}: record {position} lacks {', '.join(missing)}; nothing from this poll was loaded"
            )


def _reason(error: RequestException) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        return f"last answer {response.status_code} {response.reason}"
    return type(error).__name__
