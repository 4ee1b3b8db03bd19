"""A progress bar for long CLI work (backfills, exports, imports): one line on stderr, redrawn in place.

Drawn only on a terminal, at most ten times a second; the command prints its one-line summary itself.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, total: int | None = None, out: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.out = out if out is not None else sys.stderr
        self.enabled = out is not None or self.out.isatty()
        self._last = 0.0
        self.done = 0

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done != self.total):
            return
        self._last = now
        if self.total:
            filled = int(WIDTH * min(done, self.total) / self.total)
            bar = "#" * filled + "." * (WIDTH - filled)
            self.out.write(f"\r{self.label} [{bar}] {done}/{self.total}")
        else:
            self.out.write(f"\r{self.label} {done}")
        self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("\n")
            self.out.flush()
