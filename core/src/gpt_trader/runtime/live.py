"""The live driver: market events as they arrive, runtime guards on a wall-clock timer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.protocols import Feed
from gpt_trader.runtime.replay import event_time

log = logging.getLogger("gpt_trader.runtime")

# How long the driver waits for a task it cancelled (the feed's pending read, the guard
# timer) to end before it stops without it.
CANCEL_GRACE_S = 5.0


class StopRequest(asyncio.Event):
    """The ``stop`` of :func:`run_live`, remembering who asked: :meth:`request` records a
    reason (``operator: maintenance window``); a bare ``set()``, as a signal handler
    does, stops for ``signal``. The first reason given wins."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = "signal"

    def request(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
            self.set()


@dataclass
class Bounds:
    """When a run stops by itself: after ``duration_s`` seconds or ``max_events`` events.

    ``duration_s`` counts from ``since`` (a ``time.monotonic()`` reading; default: when
    :func:`run_live` starts), so a caller can include its start-up in the bound.
    """

    duration_s: float | None = None
    max_events: int | None = None
    since: float | None = None


async def run_live(
    kernel: Kernel,
    feed: Feed,
    symbols: Sequence[str],
    *,
    bounds: Bounds,
    stop: asyncio.Event,
    guard_interval_s: float,
    on_tick: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Feed ``kernel`` until ``stop`` is set, a bound is reached or the feed ends.

    Returns why it stopped: ``signal`` (or the reason a :class:`StopRequest` was given),
    ``duration``, ``max_events`` or ``feed_ended``.
    """
    since = time.monotonic() if bounds.since is None else bounds.since
    deadline = None if bounds.duration_s is None else since + bounds.duration_s
    timer = asyncio.create_task(_guard_timer(kernel, guard_interval_s, stop, on_tick))
    # A simulated market keeps its own time: the clock follows its events.
    advance = kernel.clock.advance_to if isinstance(kernel.clock, SimClock) else None
    reason = "feed_ended"
    iterator = feed.stream(symbols).__aiter__()
    try:
        while True:
            if stop.is_set():  # also when it came while the kernel handled an event
                reason = _stop_reason(stop)
                break
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            next_event = asyncio.ensure_future(iterator.__anext__())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait(
                {next_event, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stopper.cancel()
            if next_event not in done:
                await _cancel(next_event, "the feed")
                reason = _stop_reason(stop) if stop.is_set() else "duration"
                break
            try:
                event = next_event.result()
            except StopAsyncIteration:
                reason = "feed_ended"
                break
            if advance is not None:
                advance(event_time(event))
            await kernel.on_market(event)
            if bounds.max_events is not None and kernel.events_processed >= bounds.max_events:
                reason = "max_events"
                break
            if deadline is not None and time.monotonic() >= deadline:
                reason = "duration"
                break
    finally:
        await _cancel(timer, "the guard timer")
        if isinstance(iterator, AsyncGenerator):
            with contextlib.suppress(Exception):
                await iterator.aclose()
    return reason


async def _cancel(task: asyncio.Future[Any], what: str) -> None:
    """Cancel ``task`` and wait for it to end, at most :data:`CANCEL_GRACE_S`: a component
    that loses the cancel (on Python 3.11 ``asyncio.wait_for`` drops one that lands as the
    call it waits on completes) must not keep the run going past its bound, deaf to
    SIGTERM. An error it ended with is raised."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    if not done:
        log.error(
            "%s did not stop within %gs of being cancelled; stopping without it",
            what,
            CANCEL_GRACE_S,
        )
        return
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        task.result()


def _stop_reason(stop: asyncio.Event) -> str:
    return stop.reason if isinstance(stop, StopRequest) else "signal"


async def _guard_timer(
    kernel: Kernel,
    interval_s: float,
    stop: asyncio.Event,
    on_tick: Callable[[], Awaitable[None]] | None,
) -> None:
    while not stop.is_set():
        await asyncio.sleep(interval_s)
        await kernel.on_timer()
        if on_tick is not None:
            await on_tick()
