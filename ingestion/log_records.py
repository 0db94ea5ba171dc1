"""The log API's format: a page is a JSON array of records, each with three non-empty text fields.

Each element is read as sent, one at a time (`array_elements`), so a malformed one is rejected with its
reason (`malformation`) and the rest of the page still loads.
"""

from __future__ import annotations

import json
from datetime import datetime

REQUIRED_FIELDS = ("recordId", "logtimestamp", "data")
# The API's time format; the staging model parses it with the same pattern (`compact_timestamp`).
LOGTIMESTAMP_FORMAT = "%Y%m%d%H%M%S"


class TooDeep:
    """Stands for an element nested deeper than Python's JSON parser goes (it would raise RecursionError)."""


TOO_DEEP = TooDeep()


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
        try:
            value, end = decoder.raw_decode(body, position)
        except RecursionError:
            value, end = TOO_DEEP, _end_of_nested(body, position)
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
    if value is TOO_DEEP:
        return "nested deeper than the JSON parser reads"
    if not isinstance(value, dict):
        return f"not a JSON object: {type(value).__name__}"
    for name in REQUIRED_FIELDS:
        if name not in value or value[name] is None:
            return f"{name} missing"
        if not isinstance(value[name], str):
            return f"{name} is not a string: {type(value[name]).__name__}"
        if "\x00" in value[name]:
            return f"{name} holds a NUL byte"
        if not is_unicode(value[name]):
            return f"{name} holds a lone surrogate escape (\\ud800-\\udfff): not Unicode text"
        if not value[name]:
            return f"{name} is empty"
    if not is_logtimestamp(value["logtimestamp"]):
        return "logtimestamp is not a UTC time as YYYYmmddHHMMSS"
    return None


def is_logtimestamp(text: str) -> bool:
    """Whether `text` is a time in the API's format: 14 ASCII digits that make a real date and time."""
    if len(text) != 14 or not (text.isascii() and text.isdigit()):
        return False  # strptime alone takes one-digit months and days, and digits of other scripts
    try:
        datetime.strptime(text, LOGTIMESTAMP_FORMAT)
    except ValueError:
        return False
    return True


def is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _end_of_nested(body: str, position: int) -> int:
    """Where the array or object starting at `position` ends, found by counting brackets, not by recursion."""
    depth, in_string, escaped = 0, False, False
    for index in range(position, len(body)):
        char = body[index]
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
    raise ValueError("an array or object that does not end")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _only_space_after(body: str, position: int, elements: list) -> list:
    if _skip_space(body, position) != len(body):
        raise ValueError("text after the array")
    return elements
