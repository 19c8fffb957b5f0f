"""Virtual time for one scenario: a clock that only moves when nothing is ready to run.

Every reader of time in the process sees it while installed: the ``time`` module's clocks
(the kernel, the adapter's rate limiter and timeouts, the simulator's clock, JWT claims),
PyJWT's expiry check, and the asyncio loop (its ``time()`` reads ``time.monotonic``).
:class:`VirtualSelector` is where time moves: when the loop would wait for its next
timer and no file descriptor is ready, the clock jumps to that timer instead of sleeping.
The adapter and the simulator talk over memory pipes (:mod:`gpt_trader_chaos.memwire`),
whose bytes are loop callbacks, so all a scenario's traffic is done before time moves.
Seeded entropy (:func:`seeded`) is the other half of a world that replays exactly.

Installing it patches process-wide state, which is why a scenario runs alone in its
process (one at a time; several scenarios in parallel take several processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import selectors
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

NS = 1_000_000_000
# A loop with no timer and no ready socket waits this long in real time (a thread such as
# the store writer may still wake it) before the scenario is declared stuck.
STUCK_S = 30.0
MONOTONIC_START = 1000.0


class VirtualClock:
    def __init__(self, start_ns: int) -> None:
        self.ns = start_ns
        self._start = start_ns

    def advance(self, seconds: float) -> None:
        # Rounded up to the microsecond: the timer the loop waits for must become due.
        self.ns += -(-int(seconds * NS) // 1000) * 1000 or 1000

    @property
    def elapsed_s(self) -> float:
        return (self.ns - self._start) / NS

    def time(self) -> float:
        return self.ns / NS

    def time_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        # Small numbers: a float near 1.8e9 (the epoch) cannot tell 100 ns apart, and the
        # loop compares its timers in these.
        return MONOTONIC_START + (self.ns - self._start) / NS

    def monotonic_ns(self) -> int:
        return int(MONOTONIC_START * NS) + self.ns - self._start


class _Datetime(datetime):
    """``datetime`` whose ``now`` is the virtual clock's (PyJWT checks claims with it)."""

    clock: VirtualClock | None = None

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        assert cls.clock is not None
        return datetime.fromtimestamp(cls.clock.time(), tz or UTC)


@contextlib.contextmanager
def installed(clock: VirtualClock) -> Iterator[VirtualClock]:
    """Point every clock of the process at ``clock`` for the duration of the block."""
    import jwt.api_jwt

    saved = {
        name: getattr(time, name)
        for name in (
            "time",
            "time_ns",
            "monotonic",
            "monotonic_ns",
            "perf_counter",
            "perf_counter_ns",
        )
    }
    saved_dt = jwt.api_jwt.datetime
    _Datetime.clock = clock
    time.time = clock.time
    time.time_ns = clock.time_ns
    time.monotonic = time.perf_counter = clock.monotonic
    time.monotonic_ns = time.perf_counter_ns = clock.monotonic_ns
    jwt.api_jwt.datetime = _Datetime  # type: ignore[misc]
    try:
        yield clock
    finally:
        for name, fn in saved.items():
            setattr(time, name, fn)
        jwt.api_jwt.datetime = saved_dt  # type: ignore[misc]
        _Datetime.clock = None


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Every ``random.Random()`` made without a seed inside the block (the adapter's
    backoff and reconnect jitter) is seeded from ``seed`` instead of the OS: it would
    otherwise make the same scenario retry at other virtual instants.

    The n-th one made at a given place in the code gets the same seed in every run, so a
    one-off made elsewhere (a library's lazy first use in a process's first scenario)
    shifts nothing."""
    made: dict[str, int] = {}
    original = random.Random.seed

    def seed_from_scenario(self: random.Random, a: Any = None, version: int = 2) -> None:
        if a is None:
            # Random.__init__'s caller, by name (paths differ between checkouts)
            maker = sys._getframe(2)
            site = f"{maker.f_globals.get('__name__')}.{maker.f_code.co_qualname}"
            made[site] = made.get(site, 0) + 1
            a = f"chaos-entropy:{seed}:{site}:{made[site]}"
        original(self, a, version)

    random.Random.seed = seed_from_scenario  # type: ignore[method-assign]
    try:
        yield
    finally:
        random.Random.seed = original  # type: ignore[method-assign]


class VirtualSelector(selectors.BaseSelector):
    """The loop's selector: real descriptors, virtual waiting."""

    def __init__(self, clock: VirtualClock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0:
            # Callbacks are ready: descriptors (the loop's self-pipe, a thread's wake-up)
            # are looked at once the loop would idle, a system call spared per turn.
            return []
        ready = self._inner.select(0)
        if ready:
            return ready
        if timeout is None:
            ready = self._inner.select(STUCK_S)
            if not ready:
                raise RuntimeError("the scenario is stuck: no timer, no socket, no thread")
            return ready
        self._clock.advance(timeout)
        return self._inner.select(0)

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


def new_loop(clock: VirtualClock) -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(VirtualSelector(clock))
