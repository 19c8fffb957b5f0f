"""How much of a run the venue was out of reach: a run that traded blind must say so."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# More than this share of the run disconnected, and the run did not do its job.
MOSTLY = 0.5


class Connectivity:
    """Wall time with at least one venue connection down, and how many outages.

    Adapters report per component (``coinbase.market``); an outage lasts while any
    component is down.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.up: set[str] = set()
        self._seen: set[str] = set()
        self.down: dict[str, str] = {}
        self.outages = 0
        self._down_s = 0.0
        self._since: float | None = None

    def change(self, component: str, connected: bool, detail: str = "") -> bool:
        """Record a component's state; True when it differs from what was known (a first
        report of a connection counts)."""
        if connected:
            if component in self.up:
                return False
            self.up.add(component)
            self._seen.add(component)
            self.down.pop(component, None)
            if not self.down and self._since is not None:
                self._down_s += self._clock() - self._since
                self._since = None
            return True
        if component in self.down:
            return False
        never_up = component not in self._seen
        self.up.discard(component)
        self.down[component] = detail
        if self._since is None:
            # A connection that never came up was missing from the run's start.
            self._since = self.started if never_up else self._clock()
            self.outages += 1
        return True

    def disconnected_s(self) -> float:
        ongoing = 0.0 if self._since is None else self._clock() - self._since
        return self._down_s + ongoing

    def share(self) -> float:
        elapsed = self._clock() - self.started
        return min(1.0, self.disconnected_s() / elapsed) if elapsed > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "disconnected_s": round(self.disconnected_s(), 1),
            "disconnected_share": round(self.share(), 3),
            "outages": self.outages,
            "down": dict(sorted(self.down.items())),
        }

    def warning(self) -> str | None:
        if not self.outages:
            return None
        seconds, share = self.disconnected_s(), self.share()
        line = (
            f"the venue was unreachable for {seconds:.1f} s ({share:.0%} of the run) "
            f"in {self.outages} outage(s)"
        )
        if self.down:
            line += f"; still down at the end: {', '.join(sorted(self.down))}"
        return line
