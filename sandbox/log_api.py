"""A stand-in for the log server: a real HTTP server speaking the log API's format.

Records are a pure function of (seed, index), published at 100 per simulated 3 minutes.
`GET /` answers the latest 100 as a JSON array, every token freshly encrypted, so the same
record arrives with a different `data` string on every poll (as the real server does).
Switches on `LogApiSandbox` let tests make it misbehave the ways the real one does.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from b64uuid import B64UUID
from cryptography.fernet import Fernet

from settings import SANDBOX_FERNET_KEY

EPOCH = datetime(2023, 3, 16, 7, 0, tzinfo=UTC)
RECORDS_PER_STEP = 100
STEP = timedelta(minutes=3)
PAGE_SIZE = 100

_USERS = [hashlib.sha256(f"sandbox-user-{n}".encode()).hexdigest() for n in range(40)]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_METHOD_WEIGHTS = [50, 25, 10, 8, 7]
_URLS = [
    "/api/products/product/",
    "/api/products/product/{id}/",
    "/api/orders/order/",
    "/api/users/login/",
    "/api/cart/",
    "/api/boards/board/{id}/",
    "/api/boards/board/{id}/comments/",
]
_MESSAGES = [
    "user's cart",
    "product list",
    'searched for "wireless mouse"',
    "장바구니에 상품을 담았습니다",
    "게시글 '배송 문의'를 작성했습니다",
    "login failed: 'bad password'",
    'price changed from "₩12,000" to "₩9,900"',
    "order #{id} placed",
    "it's a \"quoted\" 'mixed' message \\ with a backslash",
    "café — naïve façade",
]
_LEVELS = ["INFO", "WARNING", "ERROR"]
_LEVEL_WEIGHTS = [80, 15, 5]


def record_time(index: int) -> datetime:
    """When record `index` was logged: 100 records every 3 minutes, millisecond jitter."""
    spacing = STEP / RECORDS_PER_STEP
    jitter = timedelta(milliseconds=_rng(0, index).randrange(0, 999))
    return EPOCH + spacing * index + jitter


def record_id(seed: int, index: int) -> str:
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()[:16]
    return B64UUID(uuid.UUID(bytes=digest)).string


def payload(seed: int, index: int) -> dict:
    """The dict behind record `index`; its `str()` is what the token encrypts."""
    rng = _rng(seed, index)
    logged_at = record_time(index)
    url = rng.choice(_URLS)
    board_id = rng.randrange(1, 500) if "/boards/" in url else None
    body: dict = {
        "user_id": None if rng.random() < 0.15 else rng.choice(_USERS),
        "method": rng.choices(_METHODS, _METHOD_WEIGHTS)[0],
        "url": url.format(id=board_id or rng.randrange(1, 5000)),
        "inDate": logged_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{logged_at.microsecond // 1000:03d}Z",
        "name": "api",
        "detail": {
            "message": rng.choice(_MESSAGES).format(id=rng.randrange(1000, 9999)),
            "levelname": rng.choices(_LEVELS, _LEVEL_WEIGHTS)[0],
        },
    }
    if board_id is not None:
        body["board_id"] = board_id
    if rng.random() < 0.05:
        body["client"] = {"ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}", "agent": None}
    if rng.random() < 0.03:
        del body["name"]
    return body


def _rng(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


@dataclass
class Misbehaviour:
    """Ways the real server fails, switched on by tests or `sandbox serve` flags."""

    failures: deque[int]
    slow_answers: deque[float]
    delay_seconds: float = 0.0
    invalid_token_every: int = 0
    non_json_responses: int = 0
    # Sent after the latest records in every page, as they are (any JSON value): records delivered
    # late, or malformed ones.
    extra_records: list = field(default_factory=list)
    # Sent after those, byte for byte: elements that are not UTF-8, or nested deeper than parsers go.
    extra_elements: list[bytes] = field(default_factory=list)
    content_type: str = "application/json"
    # While set to an unset event, answers wait for it: a poll that is in flight for as long as a test needs.
    hold: threading.Event | None = None
    # Bytes of the body sent per second, a few at a time (0: all at once): a server that never stalls
    # long enough for a read timeout, yet takes minutes to answer.
    trickle_bytes_per_second: int = 0
    # Answers cut short: the connection is closed after this many bytes of the body (None: whole).
    cut_after_bytes: int | None = None


class LogApiSandbox:
    """The simulated clock and record store behind the HTTP handler.

    `advance_per_poll` moves the clock on each successful poll (so every `make ingest`
    sees new records while consecutive polls overlap); `clock_file` keeps the clock
    across processes for the embedded default.
    """

    def __init__(
        self,
        seed: int = 42,
        key: str = SANDBOX_FERNET_KEY,
        published: int = 150,
        advance_per_poll: timedelta = timedelta(0),
        clock_file: Path | None = None,
    ) -> None:
        self.seed = seed
        self.key = key
        self.fernet = Fernet(key)
        self.advance_per_poll = advance_per_poll
        self.clock_file = clock_file
        self.misbehaviour = Misbehaviour(failures=deque(), slow_answers=deque())
        self.pages_sent: list[list[dict]] = []
        self._lock = threading.Lock()
        self._published = self._load_clock(published)

    @property
    def published(self) -> int:
        """How many records exist so far (indexes 0 .. published-1)."""
        return self._published

    def advance(self, duration: timedelta) -> None:
        with self._lock:
            self._published += int(duration / (STEP / RECORDS_PER_STEP))
            self._save_clock()

    def fail_next(self, *status_codes: int) -> None:
        self.misbehaviour.failures.extend(status_codes)

    def slow_next(self, *seconds: float) -> None:
        self.misbehaviour.slow_answers.extend(seconds)

    def latest_indexes(self) -> range:
        return range(max(0, self._published - PAGE_SIZE), self._published)

    def latest(self) -> list[dict]:
        """One poll's answer; advances the clock afterwards."""
        with self._lock:
            page = [self.record(index) for index in self.latest_indexes()] + list(self.misbehaviour.extra_records)
            self.pages_sent.append(page)
            steps = int(self.advance_per_poll / (STEP / RECORDS_PER_STEP))
            if steps:
                self._published += steps
                self._save_clock()
        return page

    def late_record(self, number: int) -> dict:
        """A valid record the server never served before, logged long before the latest ones (`number` >= 1)."""
        return self.record(-number)

    def record(self, index: int) -> dict:
        every = self.misbehaviour.invalid_token_every
        token = self.fernet.encrypt(str(payload(self.seed, index)).encode()).decode()
        if every and index % every == 0:
            token = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
        return {
            "recordId": record_id(self.seed, index),
            "logtimestamp": record_time(index).strftime("%Y%m%d%H%M%S"),
            "data": token,
        }

    def _load_clock(self, default: int) -> int:
        if self.clock_file and self.clock_file.is_file():
            return int(json.loads(self.clock_file.read_text())["published"])
        return default

    def _save_clock(self) -> None:
        if self.clock_file:
            self.clock_file.parent.mkdir(parents=True, exist_ok=True)
            self.clock_file.write_text(json.dumps({"published": self._published}))


class _Handler(BaseHTTPRequestHandler):
    server: _SandboxServer

    def do_GET(self) -> None:
        sandbox = self.server.sandbox
        misbehaviour = sandbox.misbehaviour
        if misbehaviour.hold is not None:
            misbehaviour.hold.wait()
        if misbehaviour.slow_answers:
            time.sleep(misbehaviour.slow_answers.popleft())
        elif misbehaviour.delay_seconds:
            time.sleep(misbehaviour.delay_seconds)
        if misbehaviour.failures:
            status = misbehaviour.failures.popleft()
            self._send(status, b"<html><body>upstream error</body></html>", "text/html")
            return
        if misbehaviour.non_json_responses:
            misbehaviour.non_json_responses -= 1
            self._send(200, b"<html><body>maintenance</body></html>", "text/html")
            return
        body = json.dumps(sandbox.latest()).encode()
        if misbehaviour.extra_elements:
            elements = [part for part in (body[1:-1], *misbehaviour.extra_elements) if part]
            body = b"[" + b",".join(elements) + b"]"
        self._send(200, body, misbehaviour.content_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        misbehaviour = self.server.sandbox.misbehaviour
        if misbehaviour.cut_after_bytes is not None:
            self.wfile.write(body[: misbehaviour.cut_after_bytes])
            self.close_connection = True
            return
        rate = misbehaviour.trickle_bytes_per_second
        if not rate:
            self.wfile.write(body)
            return
        piece = max(1, rate // 10)
        try:
            for start in range(0, len(body), piece):
                self.wfile.write(body[start : start + piece])
                self.wfile.flush()
                time.sleep(piece / rate)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the loader reports progress, not the sandbox."""


class _SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sandbox: LogApiSandbox, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.sandbox = sandbox


@contextmanager
def serving(sandbox: LogApiSandbox, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serves `sandbox` on a background thread; yields its URL."""
    server = _SandboxServer(sandbox, host, port)
    # Checks for shutdown every 20 ms, not socketserver's 0.5 s: every run that serves it waits that out.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="log-api-sandbox", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(sandbox: LogApiSandbox, host: str, port: int) -> None:
    server = _SandboxServer(sandbox, host, port)
    print(f"log API sandbox on http://{host}:{server.server_address[1]}/ (Ctrl-C stops it)")
    print(f"its records are encrypted with FERNET_KEY={sandbox.key}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
