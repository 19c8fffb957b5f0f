"""The bracket invariants: no position's protective order lost or doubled.

A seeded share of scenarios trades with ``[exits]`` (:func:`exits_for`: a stop-loss and a
take-profit, or one of them), so each position the bot opens gets its exit at the venue:
one ``BRACKET`` order with both legs, or the one leg alone (a stop-limit, a GTC limit).

* ``bracket_doubled``: at no moment of the run do two of the bot's exit orders work at the
  venue for one product (:class:`BracketWatch` follows every order the venue reports);
* ``bracket_lost``: once the bot has had its chance (after the scenario, a calm bot, no
  faults and no crashes and no new decisions, runs a few seconds from the store), each
  open position has exactly its exit working at the venue: on the closing side, sized to
  the position, with the legs ``[exits]`` asks for; a flat one has none.

An exit order is one whose intent an exit placed (its origin in :mod:`.lineage`), known
to the venue by its client_order_id.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.config.settings import ExitsSection
from gpt_trader.domain import Order, Side
from gpt_trader.engine.exits import exit_levels
from gpt_trader.store import Store

from gpt_trader_chaos.lineage import Lineage

ZERO = Decimal(0)
Fail = Callable[[str, str], None]
# What a scenario's exits are, by draw: both legs, the stop alone, the target alone, none.
# Levels a few tenths of a percent away, so they trigger within a scenario's minutes.
EXIT_SHAPES = (
    {"stop_loss_pct": "0.3", "take_profit_pct": "0.4"},
    {"stop_loss_pct": "0.25"},
    {"take_profit_pct": "0.3"},
    None,
)


def exits_for(seed: int) -> ExitsSection | None:
    """The ``[exits]`` of scenario ``seed`` (None: the profile's own, which has none)."""
    shape = random.Random(f"chaos:{seed}:exits").choice(EXIT_SHAPES)
    return None if shape is None else ExitsSection(**{k: Decimal(v) for k, v in shape.items()})


class BracketWatch:
    """Every order the venue reports: the bot's exit orders working at each moment, and each
    moment two worked for one product."""

    def __init__(self, venue: Any, lineage: Lineage, now: Callable[[], int]) -> None:
        self.lineage = lineage
        self.now = now
        self.working: dict[str, dict[str, Order]] = {}  # symbol -> cid -> order
        self.doubled: list[str] = []
        venue.add_listener(self.on_order)

    def on_order(self, order: Order) -> None:
        if not self.lineage.origin.get(order.client_order_id, "").startswith("exit "):
            return
        mine = self.working.setdefault(order.symbol, {})
        if not order.status.is_working:
            mine.pop(order.client_order_id, None)
            return
        if order.client_order_id not in mine and mine:
            others = ", ".join(sorted(mine))
            self.doubled.append(
                f"{order.symbol}: {order.client_order_id} works beside {others} at {self.now()}"
            )
        mine[order.client_order_id] = order


def verdict(
    exits: ExitsSection, bot_dir: Path, venue: Any, lineage: Lineage, watch: BracketWatch
) -> dict[str, list[str]]:
    """Both invariants, the positions from the bot's store (as its last bot saved them)."""
    store = Store(bot_dir / "gpt_trader.db", create=False)
    try:
        held = {p.symbol: p.size for p in store.positions()}
    finally:
        store.close()
    found: dict[str, list[str]] = {}
    check(
        exits,
        held,
        venue.orders(),
        lineage,
        watch,
        lambda name, what: found.setdefault(name, []).append(what),
    )
    return found


def check(
    exits: ExitsSection,
    positions: dict[str, Decimal],
    venue_orders: list[Order],
    lineage: Lineage,
    watch: BracketWatch,
    fail: Fail,
) -> None:
    """``positions``: what the bot holds by product (its store's, after the calm bot)."""
    for line in watch.doubled:
        fail("bracket_doubled", line)
    working: dict[str, list[Order]] = {}
    for o in venue_orders:
        if o.status.is_working and lineage.origin.get(o.client_order_id, "").startswith("exit "):
            working.setdefault(o.symbol, []).append(o)
    for symbol in sorted(set(positions) | set(working)):
        size = positions.get(symbol, ZERO)
        found = working.get(symbol, [])
        if size == 0:
            for o in found:
                fail("bracket_lost", f"{symbol} is flat, its exit {o.client_order_id} still works")
            continue
        if len(found) != 1:
            ids = ", ".join(o.client_order_id for o in found) or "none"
            fail("bracket_lost", f"{symbol} holds {size}: {len(found)} exits working ({ids})")
            continue
        problem = _misfit(exits, size, found[0])
        if problem:
            fail(
                "bracket_lost", f"{symbol} holds {size}: exit {found[0].client_order_id} {problem}"
            )


def _misfit(exits: ExitsSection, size: Decimal, order: Order) -> str:
    closing = Side.SELL if size > 0 else Side.BUY
    if order.side is not closing:
        return f"is a {order.side.value}"
    if order.remaining != abs(size):
        return f"covers {order.remaining}"
    stop, target = exit_levels(order)
    if (stop is None) != (exits.stop_loss_pct is None):
        return "has the wrong stop leg" if stop is not None else "has no stop"
    if (target is None) != (exits.take_profit_pct is None):
        return "has the wrong take-profit leg" if target is not None else "has no take-profit"
    return ""
