"""One simulator's clock: the wall clock, moved ahead on request.

``POST /admin/clock`` moves it ahead so a test or an operator passes funding times and
expiries without waiting hours; a restored account whose last event lies ahead of the wall
clock moves it too, so the venue's time never runs backwards. Each simulator owns one
(reached as ``Venue.clock`` and ``SimState.clock``): two simulators in one process keep
their own time.
"""

from __future__ import annotations

import time

from gpt_trader_coinbase_sim.wire import NS


class SimClock:
    def __init__(self) -> None:
        self._offset_ns = 0

    def now_ns(self) -> int:
        return time.time_ns() + self._offset_ns

    def shift(self, seconds: float) -> int:
        """Move the clock ``seconds`` ahead (never back); returns the new now."""
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        self._offset_ns += int(seconds * NS)
        return self.now_ns()
