"""dlt's progress for extract, normalize and load: bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from dlt.common.runtime.collector import Collector, LogCollector, TqdmCollector
from tqdm import tqdm

from runtime.progress import AFTER_SECONDS, EVERY_SECONDS, is_terminal


class QuietLogCollector(LogCollector):
    """dlt's plain-line progress, for output that is not a terminal, silent for steps shorter than `log_period`."""

    def _start(self, step: str) -> None:
        super()._start(step)
        self.step_started = time.monotonic()

    def on_log(self) -> None:
        if time.monotonic() - self.step_started >= self.log_period:
            super().on_log()


class DelayedTqdmCollector(TqdmCollector):
    """dlt's bar for a step, drawn only once the step has run tqdm's `delay`, and left as a whole line.

    dlt's own collector draws each bar as it creates it and again as it stops, whatever the delay, and
    clears none of them: every step of a quick run left a bar that the next line was printed after.
    """

    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str = "",
    ) -> None:
        key = f"{name}_{label}"
        bar = self._bars.get(key)
        if bar is None:
            if self._bars and self.single_bar:
                return
            counter = f"{name}[{label}]" if label else name
            desc = counter if self._bars else f"{self.step}: {counter}"
            bar = self._bars[key] = tqdm(desc=desc, total=total, leave=True, **self.tqdm_kwargs)
        elif inc_total:
            bar.total += inc_total
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.update(inc)

    def _stop(self) -> None:
        for bar in self._bars.values():
            bar.close()  # a bar never drawn stays undrawn; one drawn is finished on its own line
        self._bars.clear()


def dlt_progress(stream: TextIO | None = None, delay: float = AFTER_SECONDS) -> Collector:
    """Bars on a terminal, drawn once a step has run `delay` seconds; plain lines every 10 s elsewhere."""
    stream = stream or sys.stderr
    if is_terminal(stream):
        return DelayedTqdmCollector(single_bar=True, file=stream, delay=delay)
    return QuietLogCollector(log_period=EVERY_SECONDS, logger=stream, dump_system_stats=False)


def say(message: str) -> None:
    """One line of what the run is doing, on stderr (stdout is for what a command answers)."""
    print(message, file=sys.stderr, flush=True)
