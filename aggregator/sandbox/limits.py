"""Fixed-window rate limits on the scenario clock (so tests can move time instead of waiting)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.clock import Clock


@dataclass(frozen=True, slots=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset: datetime


class RateLimit:
    def __init__(self, limit: int, seconds: float, clock: Clock) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[datetime, int]] = {}

    def hit(self, key: str = "") -> Quota:
        now = self.clock()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now >= start + timedelta(seconds=self.seconds):
                start, used = now, 0
            reset = start + timedelta(seconds=self.seconds)
            if used >= self.limit:
                self._windows[key] = (start, used)
                return Quota(False, self.limit, 0, reset)
            used += 1
            self._windows[key] = (start, used)
            return Quota(True, self.limit, self.limit - used, reset)
