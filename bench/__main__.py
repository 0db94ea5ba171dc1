"""`make bench`: decryption throughput against a plain single-core `Fernet.decrypt` loop.

Every variant runs in this one process on the same tokens, so the ratios hold on a noisy
machine even when the absolute rows/s do not. BENCH_TOKENS sets how many (default 1,000,000).
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from cryptography.fernet import Fernet

from sandbox.log_api import payload
from transforms import log_decryption as decryption

RESULTS = Path(__file__).parent / "results"
DISTINCT_PAYLOADS = 10_000


def tokens(count: int, key: str) -> list[bytes]:
    fernet = Fernet(key)
    texts = [str(payload(42, index)).encode() for index in range(DISTINCT_PAYLOADS)]
    return [fernet.encrypt(texts[index % DISTINCT_PAYLOADS]) for index in range(count)]


def plain_loop(encrypted: list[bytes], key: str) -> int:
    fernet = Fernet(key)
    return len([fernet.decrypt(token) for token in encrypted])


def project_path(encrypted: list[bytes], key: str, workers: int) -> int:
    table = pa.table(
        {
            "record_id": pa.array([str(index) for index in range(len(encrypted))]),
            "token": pa.array([token.decode() for token in encrypted]),
            "load_id": pa.array(["1"] * len(encrypted)),
        }
    )
    batches = table.to_batches(decryption.BATCH_ROWS)
    decrypted = decryption.first_decrypted(decryption.decrypt_batches(batches, [key], len(encrypted), workers))
    return sum(batch.num_rows for batch in decrypted)


def processes(count: int) -> str:
    return f"{count} process{'es' if count > 1 else ''}"


def timed(label: str, run, count: int) -> dict:
    print(f"  {label} …", flush=True)
    started = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - started
    assert rows == count, f"{label}: {rows} rows, expected {count}"
    return {"variant": label, "rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds)}


def main() -> None:
    count = int(os.environ.get("BENCH_TOKENS", "1000000"))
    key = Fernet.generate_key().decode()
    print(f"Encrypting {count:,} sandbox tokens …", flush=True)
    encrypted = tokens(count, key)
    results = [
        timed("plain Fernet.decrypt loop, 1 core (baseline)", lambda: plain_loop(encrypted, key), count),
        timed("logs model: decrypt + parse + typed, 1 process", lambda: project_path(encrypted, key, 1), count),
        timed(
            # Labelled by what runs: below the parallel threshold the model uses one process.
            f"logs model: decrypt + parse + typed, {processes(decryption.processes_for(count))}",
            lambda: project_path(encrypted, key, os.cpu_count() or 1),
            count,
        ),
    ]
    baseline = results[0]["rows_per_second"]
    for result in results:
        result["ratio_to_baseline"] = round(result["rows_per_second"] / baseline, 3)
    print(f"\n{'variant':<52} {'rows/s':>10} {'x baseline':>11}")
    for result in results:
        print(f"{result['variant']:<52} {result['rows_per_second']:>10,} {result['ratio_to_baseline']:>11.2f}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"decryption-{stamp}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    path.write_text(json.dumps({"tokens": count, "machine": machine, "results": results}, indent=2))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
