"""Reading an order book from the state, when the state has one.

Core's :class:`~gpt_trader.protocols.StateView` has no order book. The book-based guards
(``impact_cost``, ``liquidity``) look for an optional ``book`` attribute:

* a callable ``state.book(symbol)``, or a mapping ``state.book[symbol]``,
* returning an object with ``bids`` and ``asks``: sequences of ``(price, size)`` pairs
  (a :class:`~gpt_trader.domain.market.BookUpdate` snapshot has exactly that shape),
* or None when there is no book for the symbol.

Without a book ``liquidity`` passes with a WARN "no book" (or blocks, if configured
to); ``impact_cost`` estimates the cost instead (see :mod:`gpt_trader_risk.impact`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.protocols import StateView

__all__ = ["Book", "book_for"]

Level = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Book:
    """Both sides, best first, levels with a positive size only."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2


def _levels(raw: Sequence[Any], *, descending: bool) -> tuple[Level, ...]:
    out = [
        (Decimal(str(p)), Decimal(str(s)))
        for p, s in raw
        if Decimal(str(s)) > 0 and Decimal(str(p)) > 0
    ]
    out.sort(key=lambda lv: lv[0], reverse=descending)
    return tuple(out)


def book_for(state: StateView, symbol: str) -> Book | None:
    """The book for ``symbol`` if the state offers one (see the module docstring)."""
    source = getattr(state, "book", None)
    if source is None:
        return None
    if callable(source):
        raw = source(symbol)
    elif isinstance(source, Mapping):
        raw = source.get(symbol)
    else:
        return None
    if raw is None:
        return None
    if isinstance(raw, Book):
        return raw
    bids = getattr(raw, "bids", None)
    asks = getattr(raw, "asks", None)
    if bids is None or asks is None:
        return None
    return Book(_levels(bids, descending=True), _levels(asks, descending=False))
