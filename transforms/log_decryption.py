"""Decrypt and parse the log API's tokens, in Arrow record batches, on every core when it pays.

A token is a Fernet token whose plaintext is the text of a dict: JSON, or the `str()` of a
Python dict (single quotes, `None`, nested dicts). It is parsed with `json.loads` or
`ast.literal_eval` (which evaluates literals only): never `eval`, never quote swapping.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing import get_context

import pyarrow as pa
from cryptography.fernet import Fernet, MultiFernet

from settings import ConfigError
from transforms import fernet_tokens

MAX_PAYLOAD_CHARS = 1_000_000
PARALLEL_FROM_ROWS = 50_000
BATCH_ROWS = 10_000
PARENT_CHECK_SECONDS = 0.5

INPUT_COLUMNS = ("record_id", "token", "load_id")
SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("user_id", pa.string()),
        ("method", pa.string()),
        ("url", pa.string()),
        ("in_date", pa.string()),
        ("logged_at", pa.timestamp("us")),
        ("name", pa.string()),
        ("detail_message", pa.string()),
        ("detail_levelname", pa.string()),
        ("board_id", pa.int64()),
        ("payload", pa.string()),
        ("load_id", pa.string()),
        ("reason", pa.string()),
    ]
)


LOGS_SCHEMA = SCHEMA.remove(SCHEMA.get_field_index("reason"))


class BadPayloadError(ValueError):
    """Decrypted text that is not a dict; the message is the quarantine reason."""


def multi_fernet(keys: list[str]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ConfigError(f"FERNET_KEY holds a value that is not a Fernet key ({error})") from error


def parse_payload(text: str) -> dict:
    """The dict in `text`, whether JSON or a Python dict literal; raises `BadPayloadError`."""
    if len(text) > MAX_PAYLOAD_CHARS:
        raise BadPayloadError("bad_payload: too large")
    # `{'` cannot start JSON: go straight to the Python parser for the API's usual text.
    # `ast.literal_eval` evaluates literals only (strings, numbers, None, dicts, …): it never runs code.
    parsers = (literal_eval,) if text.lstrip().startswith("{'") else (json.loads, literal_eval)
    for parser in parsers:
        try:
            value = parser(text)
            break
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            continue
    else:
        raise BadPayloadError("bad_payload: neither JSON nor a Python dict literal")
    if not isinstance(value, dict):
        raise BadPayloadError(f"bad_payload: a {type(value).__name__}, not a dict")
    return value


# A one-line Python string literal, '…' or "…", whose escapes JSON spells the same way (or `\'`).
_SIMPLE_STRING = re.compile(
    # The loop unrolled: a run of plain characters, then an escape and another run, and so on.
    r"'([^'\\\n]*(?:\\[\\'\"nrt][^'\\\n]*)*)'"
    r'|"([^"\\\n]*(?:\\[\\\'"nrt][^"\\\n]*)*)"'
)
_ESCAPE_OR_QUOTE = re.compile(r"""\\(.)|(")""")
# A board id sent as text that fits in a BIGINT: an optional minus and up to 18 ASCII digits.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")
# Outside its strings, a Python literal that JSON reads the same way holds only these (and None/True/False).
_JSON_ALIKE_OUTSIDE_STRINGS = re.compile(r"[0-9{}\[\],:.+\-eE ]*")


def literal_eval(text: str) -> object:
    r"""`ast.literal_eval(text)`, faster for the usual `str()` of a dict (the API's text).

    Each string literal becomes a JSON string (a bare `"` escaped, `\'` unescaped; the escapes
    `\\ \" \n \r \t` mean the same in both) and None/True/False become JSON's words: JSON text with
    the same value, provided what lies outside the strings is JSON-alike. A string with any other
    escape leaves its backslash outside, so it, and any text JSON refuses, goes to
    `ast.literal_eval`; the tests prove the two equal on any input.
    """
    pieces = _SIMPLE_STRING.split(text)
    outside = pieces[0::3]
    bare = "".join(outside).replace("None", "").replace("True", "").replace("False", "")
    if _JSON_ALIKE_OUTSIDE_STRINGS.fullmatch(bare):
        pieces[0::3] = [
            part.replace("None", "null").replace("True", "true").replace("False", "false") for part in outside
        ]
        pieces[1::3] = ["" if single is None else _json_string(single) for single in pieces[1::3]]
        pieces[2::3] = ["" if double is None else _json_string(double) for double in pieces[2::3]]
        try:
            return json.loads("".join(pieces))
        except ValueError:
            pass
    return ast.literal_eval(text)


def _json_string(content: str) -> str:
    if "\\" not in content and '"' not in content:
        return '"' + content + '"'
    return '"' + _ESCAPE_OR_QUOTE.sub(_json_escape, content) + '"'


def _json_escape(match: re.Match) -> str:
    if match.group(2):  # a bare `"` inside '…'
        return '\\"'
    return "'" if match.group(1) == "'" else match.group(0)


def to_json(payload: dict) -> str:
    """The dict as JSON; tuples become arrays, other non-JSON values are a bad payload."""
    try:
        return json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadPayloadError("bad_payload: holds values JSON cannot represent") from error


def decrypt_batch(batch: pa.RecordBatch, keys: list[str]) -> pa.RecordBatch:
    """One output row per input row: typed fields and `payload`, or NULLs and a `reason`."""
    return decrypt_rows(*(batch.column(name).to_pylist() for name in INPUT_COLUMNS), keys=keys)


def decrypt_rows(record_ids: list[str], tokens: list[str], load_ids: list[str], keys: list[str]) -> pa.RecordBatch:
    """`decrypt_batch` on plain lists, which cross to a worker compactly; `keys` checked by `multi_fernet`."""
    rows = [_fields(plaintext) for plaintext in fernet_tokens.decrypt([token.encode() for token in tokens], keys)]
    columns = {name: [row.get(name) for row in rows] for name in SCHEMA.names}
    return pa.RecordBatch.from_pydict({**columns, "record_id": record_ids, "load_id": load_ids}, schema=SCHEMA)


def _fields(plaintext: bytes | None) -> dict:
    """A decrypted token's typed fields and its payload as JSON, or the reason it is quarantined."""
    if plaintext is None:
        return {"reason": "invalid_token"}
    try:
        payload = parse_payload(plaintext.decode("utf-8"))
        return {**typed_fields(payload), "payload": to_json(payload)}
    except UnicodeDecodeError:
        return {"reason": "bad_payload: not UTF-8 text"}
    except BadPayloadError as error:
        return {"reason": str(error)}


def typed_fields(payload: dict) -> dict:
    detail = payload.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    in_date = payload.get("inDate")
    return {
        "user_id": _text(payload.get("user_id")),
        "method": _text(payload.get("method")),
        "url": _text(payload.get("url")),
        "in_date": _text(in_date),
        "logged_at": _utc_timestamp(in_date),
        "name": _text(payload.get("name")),
        "detail_message": _text(detail.get("message")),
        "detail_levelname": _text(detail.get("levelname")),
        "board_id": _integer(payload.get("board_id")),
    }


def decrypt_batches(
    batches: Iterable[pa.RecordBatch], keys: list[str], rows: int, workers: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Decrypts a stream of batches in order; with many rows, on `workers` processes (default: all cores).

    At most two batches per worker are in flight, so memory stays bounded however many rows come.
    """
    multi_fernet(keys)  # a malformed key fails here, once, not in every worker
    workers = processes_for(rows, workers)
    if workers == 1:
        yield from (decrypt_batch(batch, keys) for batch in batches)
        return
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_die_with, initargs=(os.getpid(),))
    with pool:
        in_flight: deque[Future] = deque()
        for submitted, batch in enumerate(batches):
            rows_of_batch = [batch.column(name).to_pylist() for name in INPUT_COLUMNS]
            # Each of the first submits starts a worker (none is idle yet).
            with _main_module_left_behind(submitted < workers):
                in_flight.append(pool.submit(decrypt_rows, *rows_of_batch, keys=keys))
            if len(in_flight) >= 2 * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _die_with(parent: int) -> None:
    """In each worker: exit once `parent` is gone (a dbt killed mid-model), instead of waiting on its queue for ever.

    A killed parent closes nothing the workers wait on: each holds both ends of the pool's queue.
    The resource tracker exits by itself once no process holds its pipe.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextmanager
def _main_module_left_behind(starting_workers: bool) -> Iterator[None]:
    """While workers start, shows them a bare `__main__` instead of the caller's.

    A spawned worker first runs the parent's main module again; under dbt that is dbt's whole CLI,
    seconds of imports per worker that decryption never uses. The workers need only this module,
    which they import by name. (A worker started later, outside this, is slower to start, no more.)
    """
    if not starting_workers:
        yield
        return
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def processes_for(rows: int, workers: int | None = None) -> int:
    """How many processes `decrypt_batches` uses for `rows`: one below `PARALLEL_FROM_ROWS` (starting more costs
    more than it saves), else `workers` (default: all cores).
    """
    return 1 if rows < PARALLEL_FROM_ROWS else workers or os.cpu_count() or 1


def first_decrypted(batches: Iterable[pa.RecordBatch]) -> pa.RecordBatchReader:
    """The rows that decrypted, the first per `record_id` (the API re-sends records), without `reason`."""
    seen: set[str] = set()

    def keep(batch: pa.RecordBatch) -> pa.RecordBatch:
        mask = []
        for record_id, reason in zip(
            batch.column("record_id").to_pylist(), batch.column("reason").to_pylist(), strict=True
        ):
            mask.append(reason is None and record_id not in seen)
            if mask[-1]:
                seen.add(record_id)
        return batch.filter(pa.array(mask, type=pa.bool_())).drop_columns(["reason"])

    return pa.RecordBatchReader.from_batches(LOGS_SCHEMA, (keep(batch) for batch in batches))


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    # ASCII digits only: `str.isdigit` is also true of '²', which `int` refuses.
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value)
    return None


def _utc_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
