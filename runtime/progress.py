"""Progress of long work (decrypting records, writing exports, loading): seen while it runs, quiet when it is short.

On a terminal: a tqdm bar with the rate, shown once the work has run `after` seconds. Anywhere else
(CI, cron, the scheduler, a log file): a plain line every `every` seconds, and one at the end, with
the rate; none at all for work done within `after` seconds, so short runs stay as terse as before.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

Item = TypeVar("Item")
# Plain lines: one every this many seconds; nothing for work shorter than the first.
EVERY_SECONDS = 10.0
AFTER_SECONDS = 3.0


class Progress:
    """`done` of `total` units of `what`, e.g. Progress("logs: decrypting", 1_000_000, "records")."""

    def __init__(
        self,
        what: str,
        total: int | None,
        unit: str = "rows",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY_SECONDS,
        after: float = AFTER_SECONDS,
    ) -> None:
        self.what, self.total, self.unit, self.clock, self.every, self.after = what, total, unit, clock, every, after
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = clock()
        self.last_line: float | None = None
        self.bar = None
        if is_terminal(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=what, unit=f" {unit}", unit_scale=True, delay=after, file=self.stream)

    def advance(self, units: int) -> None:
        self.done += units
        if self.bar is not None:
            self.bar.update(units)
            return
        now = self.clock()
        due = self.started + self.after if self.last_line is None else self.last_line + self.every
        if now >= due:
            self._line(now, f"{self.done:,}{f' of {self.total:,}' if self.total else ''} {self.unit}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            return
        now = self.clock()
        if self.last_line is not None or now - self.started >= self.after:
            self._line(now, f"{self.done:,} {self.unit} in {now - self.started:.1f} s, done")

    def counted(self, items: Iterable[Item], size: Callable[[Item], int]) -> Iterator[Item]:
        """`items`, advancing by `size(item)` as each is handed on; closes at the end."""
        try:
            for item in items:
                self.advance(size(item))
                yield item
        finally:
            self.close()

    def _line(self, now: float, what_is_done: str) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        print(f"{self.what}: {what_is_done} ({rate:,.0f} {self.unit}/s)", file=self.stream, flush=True)
        self.last_line = now


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
