"""Sizes of the log records in each form, as the seed project measured them, plus Parquet."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable

RAW_JSON = "raw JSON"


def compressed_payload(payload: str, user_id: str | None, method: int | None, in_date: str | None) -> dict:
    """The decrypted dict with `user_id`, `method` and `inDate` in their short forms (where present)."""
    record = json.loads(payload)
    if "user_id" in record:
        record["user_id"] = user_id
    if "method" in record and method is not None:
        record["method"] = method
    if "inDate" in record:
        record["inDate"] = in_date
    return record


def json_stages(rows: Iterable[tuple[str, str | None, int | None, str | None]]) -> dict[str, int]:
    """Bytes of the records as one JSON array, with and without the short forms, plain and gzipped."""
    rows = list(rows)
    raw = json.dumps([json.loads(payload) for payload, *_ in rows], ensure_ascii=False).encode()
    compressed = json.dumps([compressed_payload(*row) for row in rows], ensure_ascii=False).encode()
    return {
        RAW_JSON: len(raw),
        "compressed JSON (short user_id, method, inDate)": len(compressed),
        "gzip of raw JSON": len(gzip.compress(raw, mtime=0)),
        "gzip of compressed JSON": len(gzip.compress(compressed, mtime=0)),
    }


def report_rows(sizes: dict[str, int], records: int) -> list[dict]:
    raw = sizes[RAW_JSON] or 1
    return [
        {
            "position": position,
            "stage": stage,
            "records": records,
            "bytes": size,
            "ratio_to_raw_json": round(size / raw, 4),
            "saving_pct": round(100 * (1 - size / raw), 1),
        }
        for position, (stage, size) in enumerate(sizes.items(), start=1)
    ]
