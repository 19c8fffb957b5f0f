"""Crash points: hooks on one bot's objects that kill it at a seeded moment.

A crash cancels the bot's driving task and, when the hook runs inside the bot, raises
:class:`Crash` so the code after the hook never runs. The scenario then drops the bot
without any orderly shutdown (:func:`gpt_trader_chaos.scenario.kill`), as ``kill -9``
would, and starts a new one from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gpt_trader_chaos.plan import CrashPoint


class Crash(BaseException):
    """The bot died here (a BaseException, so no ``except Exception`` swallows it)."""


class Tripwire:
    """The crash points still to come, armed on one bot: the first whose hook comes round
    kills it (``fired`` says which)."""

    def __init__(self, points: list[CrashPoint]) -> None:
        self.points = points
        self.counts: dict[str, int] = {}
        self.fired: CrashPoint | None = None
        self.task: asyncio.Task[Any] | None = None

    def hit(self, kind: str, *, raise_here: bool = True) -> None:
        if self.fired:
            if raise_here:
                raise Crash(kind)  # the bot is dead: nothing more of it runs
            return
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        point = CrashPoint(kind, n)
        if point not in self.points:
            return
        self.fired = point
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        if raise_here:
            raise Crash(kind)

    def after(self, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` followed by the hook (the crash lands once ``fn`` has done its work)."""

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            self.hit(kind)
            return out

        return wrapped

    def before_async(self, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.hit(kind)
            return await fn(*args, **kwargs)

        return wrapped


def arm(
    wire: Tripwire, kernel: Any, store: Any, venue: Any, intents: set[str]
) -> Callable[[], None]:
    """Put the hooks on one bot (and the venue's submit); returns what takes them off the
    venue, which outlives the bot. ``intents`` collects every client_order_id the store
    committed as an intent (adopted orders get rows too, so the table cannot tell)."""
    record_intent = store.record_intent

    def recorded(request: Any, *args: Any, **kwargs: Any) -> Any:
        out = record_intent(request, *args, **kwargs)
        intents.add(request.client_order_id)
        return out

    store.record_intent = wire.after("after_intent", recorded)
    kernel.on_fill = wire.after("mid_fill", kernel.on_fill)
    broker = kernel.broker
    # the start's reconcile asks for open orders, the periodic one for order reports; both
    # come after the fills were applied
    broker.open_orders = wire.before_async("mid_reconcile", broker.open_orders)
    if hasattr(broker, "order_reports"):
        broker.order_reports = wire.before_async("mid_reconcile", broker.order_reports)
    original_submit = venue.submit

    def submit(*args: Any, **kwargs: Any) -> Any:
        out = original_submit(*args, **kwargs)
        wire.hit("before_reply", raise_here=False)  # the venue applied it; the reply is lost
        return out

    venue.submit = submit

    def disarm() -> None:
        venue.submit = original_submit

    return disarm
