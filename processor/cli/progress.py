"""A dependency-free progress bar for the terminal (quiet when the stream is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``update(done, total)`` redraws one line: label, bar, count, elapsed and remaining time."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 30, unit: str = "blocks"):
        self.label, self.stream, self.width, self.unit = label, stream, width, unit
        self.started = time.perf_counter()
        self.interactive = stream.isatty()
        self._last = ""

    def update(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        filled = int(self.width * done / max(total, 1))
        remaining = elapsed / done * (total - done) if done else 0.0
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {self.unit} "
                f"{elapsed:5.0f} s elapsed, {remaining:4.0f} s left")
        if self.interactive:
            self.stream.write("\r" + line)
            self.stream.flush()
        self._last = line

    def close(self) -> None:
        if self.interactive and self._last:
            self.stream.write("\n")
            self.stream.flush()
