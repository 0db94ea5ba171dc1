"""A pseudo-terminal for programs that draw differently on a terminal (bars, full-screen IDEs)."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import termios
import threading
import time


class Terminal:
    """A pseudo-terminal, read all along (a program whose output is not read stalls)."""

    def __init__(self, rows: int = 40, columns: int = 140) -> None:
        self.controller, self.device = os.openpty()
        fcntl.ioctl(self.device, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.drawn = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.drawn += chunk

    def screen(self) -> str:
        """Everything drawn so far, escape sequences removed."""
        return re.sub(r"\x1b\[[0-9;?>$]*[A-Za-z]", "", bytes(self.drawn).decode("utf-8", "replace"))

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(text in self.screen() for text in texts):
                return self.screen()
            time.sleep(0.2)
        raise AssertionError(f"not all of {texts} on screen within {timeout} s:\n{self.screen()[-3000:]}")

    def type(self, keys: str) -> None:
        os.write(self.controller, keys.encode())

    def finish(self) -> str:
        """Once the program has ended: everything it drew, read to the end; closes the terminal."""
        os.close(self.device)
        self.reader.join(timeout=30)
        os.close(self.controller)
        return self.screen()

    def close(self) -> None:
        os.close(self.device)
        os.close(self.controller)
