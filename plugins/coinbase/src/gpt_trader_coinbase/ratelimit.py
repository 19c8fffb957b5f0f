"""Client-side rate limiting: a token bucket that also obeys what the venue says.

Coinbase's conventional budgets are 30 private requests/s per key and 10 public ones per IP
(coinbase-api.md §3.14). The bucket spends one token per request; on top of that a reply's
``x-ratelimit-remaining: 0`` or a 429 blocks every caller until ``x-ratelimit-reset``
(UNIX seconds) or, without that header, for an exponential pause. Callers queue in arrival
order (one lock), so a burst cannot starve an order submit behind it for long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

EPSILON = 1e-6
# Never believe a reset header that asks for a longer pause than this.
MAX_BLOCK_S = 10.0


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.burst
        # The clocks are read from the time module when the limiter is made, not when this
        # module loads: a deterministic run (gpt-trader chaos) installs virtual ones.
        self._clock = clock or time.monotonic
        self._wall = wall or time.time
        self._sleep = sleep
        self._last = self._clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited_s = 0.0
        self.blocks = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        """Wait for a token (and for any venue-imposed pause to end)."""
        async with self._lock:
            while True:
                self._refill()
                now = self._clock()
                wait = self._blocked_until - now
                if wait <= 0 and self._tokens >= 1 - EPSILON:
                    self._tokens = max(self._tokens - 1, 0.0)
                    return
                if wait <= 0:
                    wait = max((1 - self._tokens) / self.rate, 0.001)
                self.waited_s += wait
                await self._sleep(wait)

    def block_for(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (a 429, or a reset the venue asked for)."""
        seconds = min(max(seconds, 0.0), MAX_BLOCK_S)
        until = self._clock() + seconds
        if until > self._blocked_until:
            self._blocked_until = until
            self.blocks += 1

    def observe(self, headers: Mapping[str, str], *, limited: bool = False) -> float:
        """Apply a reply's ``x-ratelimit-*`` headers; returns the pause it imposed (s)."""
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if not limited and (remaining is None or remaining > 0):
            if remaining is not None:
                # Never spend faster than the venue says is left this window.
                self._refill()
                self._tokens = min(self._tokens, remaining)
            return 0.0
        pause = 0.0
        if reset is not None:
            # A reset far in the future is a UNIX time; a small number is a delay in seconds.
            pause = reset - self._wall() if reset > 1e9 else reset
        if pause <= 0:
            pause = 1.0 / self.rate
        self.block_for(pause)
        return pause


def _number(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None
