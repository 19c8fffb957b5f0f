"""Where each order came from: the decision (or exit, or guard cut) behind every intent.

The store keys an order by its client_order_id (``<run>-<seq>``, a fresh one per request)
and keeps no decision id: its intent row says what was asked (symbol, side, size, the
votes in ``tag``), not which decision asked. So the scenario watches each bot: the kernel's
three callers of ``submit`` (a decision's ``_place``, the exits' bracket and market close,
a guard's cut) run inside an *origin*, and every intent the store commits is filed under
the origin it was recorded in. The record lives in the scenario, not in a bot, so it spans
crashes: a decision is its symbol and time, the same in any bot that would make it again.

The invariant (:func:`gpt_trader_chaos.invariants.check_all`, ``decision_two_ids``): every
client_order_id that reached the venue has an origin, and no decision reached the venue
under two ids.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

# The origin the kernel is placing for in this task; tasks inherit it from their maker.
ORIGIN: contextvars.ContextVar[str] = contextvars.ContextVar("chaos_origin", default="")


class Lineage:
    """client_order_id -> the origin its intent was recorded in ("" = none)."""

    def __init__(self) -> None:
        self.origin: dict[str, str] = {}

    def decisions(self, sent: list[str]) -> dict[str, list[str]]:
        """The ids among ``sent`` of each decision, in the order they reached the venue."""
        out: dict[str, list[str]] = {}
        for cid in dict.fromkeys(sent):
            origin = self.origin.get(cid, "")
            if origin.startswith("decision "):
                out.setdefault(origin, []).append(cid)
        return out


def _within(origin_of: Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = ORIGIN.set(origin_of(*args, **kwargs))
        try:
            return await fn(*args, **kwargs)
        finally:
            ORIGIN.reset(token)

    return wrapped


def watch(lineage: Lineage, kernel: Any, store: Any) -> None:
    """Put the origin hooks on one bot (they die with it)."""
    made: dict[str, int] = {}

    def decision(decision: Any, *_a: Any, **_k: Any) -> str:
        # Two decisions of one bot at one instant (candles caught up at once) are two; the
        # n-th of a restarted bot at that instant would be the n-th again.
        key = f"decision {decision.symbol}@{decision.ts}"
        made[key] = made.get(key, 0) + 1
        return f"{key}#{made[key]}"

    kernel._place = _within(decision, kernel._place)
    exits = kernel.exits
    exits._place = _within(lambda symbol, *_a, **_k: f"exit {symbol}", exits._place)
    exits._close = _within(lambda symbol, *_a, **_k: f"exit {symbol}", exits._close)
    kernel.place_reductions = _within(lambda: "guard", kernel.place_reductions)
    record_intent = store.record_intent

    def recorded(request: Any, *args: Any, **kwargs: Any) -> Any:
        # filed first: a crash hook on the same call may end the bot right after the commit
        lineage.origin.setdefault(request.client_order_id, ORIGIN.get())
        return record_intent(request, *args, **kwargs)

    store.record_intent = recorded
