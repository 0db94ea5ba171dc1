"""Progress of long work: plain lines with the rate where output is not a terminal, a bar where it is."""

from __future__ import annotations

import io
import subprocess
import sys

from ingestion.progress import dlt_progress
from runtime.progress import Progress
from tests.terminal import Terminal as TerminalDevice
from tests.workspace import Workspace


class Clock:
    """A clock the test moves: progress lines depend on time, and tests must not."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_short_work_prints_nothing():
    output, clock = io.StringIO(), Clock()
    progress = Progress("logs: decrypting", 500, "records", stream=output, clock=clock)
    for _ in range(5):
        clock.now += 0.5
        progress.advance(100)
    progress.close()

    assert output.getvalue() == ""


def test_long_work_prints_a_line_with_the_rate_every_ten_seconds_and_one_at_the_end():
    output, clock = io.StringIO(), Clock()
    progress = Progress("logs: decrypting", 1_000_000, "records", stream=output, clock=clock)
    for _ in range(25):  # 25 s, 40,000 records a second
        clock.now += 1
        progress.advance(40_000)
    progress.close()

    assert output.getvalue().splitlines() == [
        "logs: decrypting: 120,000 of 1,000,000 records (40,000 records/s)",
        "logs: decrypting: 520,000 of 1,000,000 records (40,000 records/s)",
        "logs: decrypting: 920,000 of 1,000,000 records (40,000 records/s)",
        "logs: decrypting: 1,000,000 records in 25.0 s, done (40,000 records/s)",
    ]


def test_counted_passes_items_through_and_closes_even_when_the_consumer_stops():
    output, clock = io.StringIO(), Clock()
    progress = Progress("exports/logs: 3 partition(s)", 30, stream=output, clock=clock, after=0)

    def slow(items):
        for item in items:
            clock.now += 1
            yield item

    counted = progress.counted(slow([10, 10, 10]), size=lambda item: item)
    assert next(counted) == 10
    counted.close()

    assert output.getvalue().splitlines()[-1] == "exports/logs: 3 partition(s): 10 rows in 1.0 s, done (10 rows/s)"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_it_draws_a_bar_with_the_rate():
    output = Terminal()
    progress = Progress("logs: decrypting", 200, "records", stream=output, after=0)
    progress.advance(100)
    progress.advance(100)
    progress.close()

    drawn = output.getvalue()
    assert "logs: decrypting: 100%" in drawn and "200/200" in drawn and "records/s" in drawn


def test_dlt_steps_draw_a_bar_only_once_they_have_run_the_delay_and_the_bar_ends_its_line():
    quick = Terminal()
    collector = dlt_progress(stream=quick, delay=3600)
    with collector("Extract orders_db"):
        collector.update("orders", 10)
    assert quick.getvalue() == "", "a step shorter than the delay draws nothing, not even an empty bar"

    slow = Terminal()
    collector = dlt_progress(stream=slow, delay=0)
    with collector("Extract orders_db"):
        collector.update("orders", 10, message="reading")
    drawn = slow.getvalue()
    assert "Extract orders_db: orders" in drawn and "10" in drawn
    assert drawn.endswith("\n"), "the finished bar ends its line: what is printed next starts on a line of its own"


def test_a_run_at_a_terminal_shows_its_lines_whole_and_no_bar_for_steps_of_less_than_three_seconds(tmp_path):
    workspace = Workspace(tmp_path)
    terminal = TerminalDevice()
    run = subprocess.Popen(
        [sys.executable, "-m", "ingestion", "run"],
        cwd=tmp_path,
        env={**workspace.environment, "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL,
        stdout=terminal.device,
        stderr=terminal.device,
        start_new_session=True,
    )
    try:
        code = run.wait(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    screen = terminal.finish().replace("\r\n", "\n")

    assert code == 0, screen
    assert "it/s" not in screen and "%|" not in screen, f"no bar for the sandbox's quick steps:\n{screen}"
    assert "\r" not in screen, f"no line drawn over another:\n{screen!r}"
    assert "orders: reading" in screen and "logs -> warehouse: loading" in screen.splitlines()
