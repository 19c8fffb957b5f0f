"""Clocks: the wall clock for live runs, a settable one for replay. Nanoseconds, UTC."""

from __future__ import annotations

import time


class WallClock:
    def now(self) -> int:
        return time.time_ns()


class SimClock:
    """Advanced by the replay driver to each event's time; never goes backwards."""

    def __init__(self, start: int = 0) -> None:
        self._now = start

    def now(self) -> int:
        return self._now

    def advance_to(self, ts: int) -> None:
        if ts > self._now:
            self._now = ts
