"""HTTP access to the log API: one poll, retried the way dlt's HTTP client retries, split into records and rejects."""

from __future__ import annotations

import codecs
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message

import urllib3
from dlt.sources.helpers.requests import Client
from requests import RequestException

from ingestion.log_records import REQUIRED_FIELDS, array_elements, is_unicode, malformation
from settings import redact


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
    # Unique, and in the order of polling when sorted: names the poll's copy kept for each destination.
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", f"{self.polled_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}")

    def as_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "polled_at": self.polled_at.isoformat(),
                "records": self.records,
                "rejected": [[reject.record_json, reject.reason] for reject in self.rejected],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Poll:
        value = json.loads(text)
        rejected = [Rejected(record_json, reason) for record_json, reason in value["rejected"]]
        return cls(datetime.fromisoformat(value["polled_at"]), value["records"], rejected, value["id"])

    @property
    def served(self) -> int:
        return len(self.records) + len(self.rejected)


def poll(
    url: str,
    timeout: float = 10.0,
    max_bytes: int = 16 * 2**20,
    attempts: int = 5,
    backoff: float = 1.0,
    deadline: float = 300.0,
) -> Poll:
    """One GET of `url`.

    5xx answers, timeouts and dropped connections are retried with exponential backoff
    (dlt's retrying client); a 4xx answer, a body over `max_bytes` or one that is not a JSON
    array raises at once, and so does a body still arriving `deadline` seconds after the poll
    began (`timeout` bounds each wait for bytes, not the whole answer). A malformed element of the
    array costs only itself: it is returned among the rejects.
    """
    client = Client(
        request_timeout=timeout,
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=30,
        raise_for_status=True,
    )
    shown = redact(url)
    polled_at, started = datetime.now(UTC), time.monotonic()
    try:
        response = client.get(url, stream=True)
    except RequestException as error:
        raise LogApiError(_failure(shown, error, attempts)) from None
    received = bytearray()
    try:
        body = _read_at_most(response, max_bytes, started + deadline, received)
    except TimeoutError:
        raise LogApiError(
            f"log API at {shown} did not finish answering within {deadline:.0f} s; nothing from this poll was "
            "loaded: check LOG_API_URL, or raise LOG_API_DEADLINE_SECONDS if answers take that long"
        ) from None
    except urllib3.exceptions.ReadTimeoutError:
        raise LogApiError(
            f"log API at {shown} stopped sending its answer for {timeout:.0f} s after {len(received):,} bytes; "
            "nothing from this poll was loaded: run again later, or raise LOG_API_TIMEOUT_SECONDS"
        ) from None
    except urllib3.exceptions.HTTPError as error:
        declared = response.headers.get("Content-Length")
        of = f" of {int(declared):,}" if declared and declared.isdigit() else ""
        raise LogApiError(
            f"log API at {shown} broke off its answer after {len(received):,}{of} bytes ({type(error).__name__}); "
            "nothing from this poll was loaded: run again later"
        ) from None
    if body is None:
        raise LogApiError(
            f"log API at {shown} answered more than {max_bytes:,} bytes; nothing from this poll was loaded: "
            "check LOG_API_URL, or raise LOG_API_MAX_BYTES if answers this large are expected"
        )
    # JSON is UTF-8 (RFC 8259) unless the answer names another charset; requests would guess ISO-8859-1
    # for a `text/*` type without one. Bytes that do not decode are kept apart, for their element only.
    text = body.decode(_declared_charset(response.headers.get("Content-Type")), errors="surrogateescape")
    try:
        elements = array_elements(text)
    except ValueError:
        raise LogApiError(
            f"log API at {shown} answered a body that is not JSON: not an array of records "
            f"({response.headers.get('Content-Type', 'no content type')}, starts {text[:40]!r}); "
            "nothing from this poll was loaded"
        ) from None
    records, rejected = [], []
    for text, value in elements:
        problem = _undecoded_bytes(text) or malformation(value)
        if problem:
            rejected.append(Rejected(_shown(text), problem))
        else:
            records.append({name: value[name] for name in REQUIRED_FIELDS})
    return Poll(polled_at, records, rejected)


def _declared_charset(content_type: str | None) -> str:
    """The charset the Content-Type names, if Python knows it; UTF-8 otherwise."""
    message = Message()
    message["Content-Type"] = content_type or "application/json"
    charset = message.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


def _undecoded_bytes(text: str) -> str | None:
    """Why an element's text is not text: the first byte that did not decode (kept as a surrogate escape)."""
    if is_unicode(text):
        return None
    position = next(index for index, char in enumerate(text) if "\udc80" <= char <= "\udcff")
    return f"not UTF-8: byte 0x{ord(text[position]) - 0xDC00:02x} at character {position}"


def _shown(text: str) -> str:
    """An element's text as sent, with any byte that did not decode written as `\\xff`."""
    if is_unicode(text):
        return text
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def _read_at_most(response, max_bytes: int, deadline: float, body: bytearray) -> bytes | None:
    """The body, read into `body`, or None when it is longer than `max_bytes` (read no further than
    that); raises TimeoutError when it is still arriving at `deadline` (a `time.monotonic()` instant),
    and urllib3's errors when the connection breaks off (`body` then holds what came).

    Each read takes what has arrived (`read1`), so a body that trickles in is checked against the
    deadline as it comes, not after a whole chunk.
    """
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        response.close()
        return None
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        body += chunk
        if len(body) > max_bytes:
            response.close()
            return None
        if time.monotonic() > deadline:
            response.close()
            raise TimeoutError
    return bytes(body)


def _failure(url: str, error: RequestException, attempts: int) -> str:
    response = getattr(error, "response", None)
    status = response.status_code if response is not None else None
    if status in (401, 403):
        return f"log API at {url} refused the poll ({status} {response.reason}): check the credentials in LOG_API_URL"
    if status == 404:
        return f"log API at {url} answered 404 Not Found: check LOG_API_URL"
    if status is not None and 400 <= status < 500:
        return f"log API at {url} rejected the poll ({status} {response.reason}): check LOG_API_URL"
    reason = f"last answer {status} {response.reason}" if response is not None else type(error).__name__
    return f"log API at {url} failed after {attempts} attempts ({reason}); check LOG_API_URL, or run again later"
