"""HTTP access to the log API: one poll, retried the way dlt's HTTP client retries, split into records and rejects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from dlt.sources.helpers.requests import Client
from requests import RequestException

REQUIRED_FIELDS = ("recordId", "logtimestamp", "data")


class LogApiError(RuntimeError):
    """The log API could not be polled, or answered something that is not a page of records."""


@dataclass(frozen=True)
class Rejected:
    """A malformed element of a page: its JSON text exactly as sent, and why it was not loaded."""

    record_json: str
    reason: str


@dataclass(frozen=True)
class Poll:
    """One answer of the API: the well-formed records (their three fields, as sent) and the rejects."""

    polled_at: datetime
    records: list[dict]
    rejected: list[Rejected]

    @property
    def served(self) -> int:
        return len(self.records) + len(self.rejected)


def poll(url: str, timeout: float = 10.0, attempts: int = 5, backoff: float = 1.0) -> Poll:
    """One GET of `url`.

    5xx answers, timeouts and dropped connections are retried with exponential backoff
    (dlt's retrying client); a body that is not a JSON array raises at once. A malformed
    element of the array costs only itself: it is returned among the rejects.
    """
    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=30,
        raise_for_status=True,
    )
    polled_at = datetime.now(UTC)
    try:
        response = client.get(url)
    except RequestException as error:
        raise LogApiError(
            f"log API at {url} failed after {attempts} attempts ({_reason(error)}); "
            "check LOG_API_URL, or run again later"
        ) from error
    try:
        elements = array_elements(response.text)
    except ValueError as error:
        raise LogApiError(
            f"log API at {url} answered a body that is not JSON: not an array of records "
            f"({response.headers.get('Content-Type', 'no content type')}, starts {response.text[:40]!r}); "
            "nothing from this poll was loaded"
        ) from error
    records, rejected = [], []
    for text, value in elements:
        problem = malformation(value)
        if problem:
            rejected.append(Rejected(text, problem))
        else:
            records.append({name: value[name] for name in REQUIRED_FIELDS})
    return Poll(polled_at, records, rejected)


def array_elements(body: str) -> list[tuple[str, object]]:
    """Each element of the JSON array `body`: its text exactly as sent, and its value. Raises `ValueError`."""
    decoder = json.JSONDecoder()
    position = _skip_space(body, 0)
    if body[position : position + 1] != "[":
        raise ValueError("not a JSON array")
    position = _skip_space(body, position + 1)
    elements: list[tuple[str, object]] = []
    if body[position : position + 1] == "]":
        return _only_space_after(body, position + 1, elements)
    while True:
        value, end = decoder.raw_decode(body, position)
        elements.append((body[position:end], value))
        position = _skip_space(body, end)
        separator = body[position : position + 1]
        if separator == "]":
            return _only_space_after(body, position + 1, elements)
        if separator != ",":
            raise ValueError("elements not separated by commas")
        position = _skip_space(body, position + 1)


def malformation(value: object) -> str | None:
    """Why `value` is not a record of the API's format (None when it is one)."""
    if not isinstance(value, dict):
        return f"not a JSON object: {type(value).__name__}"
    for name in REQUIRED_FIELDS:
        if name not in value or value[name] is None:
            return f"{name} missing"
        if not isinstance(value[name], str):
            return f"{name} is not a string: {type(value[name]).__name__}"
        if "\x00" in value[name]:
            return f"{name} holds a NUL byte"
        if not value[name]:
            return f"{name} is empty"
    return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _only_space_after(body: str, position: int, elements: list) -> list:
    if _skip_space(body, position) != len(body):
        raise ValueError("text after the array")
    return elements


def _reason(error: RequestException) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        return f"last answer {response.status_code} {response.reason}"
    return type(error).__name__
