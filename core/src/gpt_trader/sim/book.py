"""One side of a limit order book: our resting orders in price-time priority, plus the
synthetic liquidity levels a market-data book update describes.

The matching engine keeps one :class:`BookSide` for bids and one for asks. Resting orders
are kept sorted by (price, arrival sequence); synthetic levels are a plain price -> size map
that market orders walk and consume until the next book update replaces them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gpt_trader.domain import Order, Side

ZERO = Decimal(0)


@dataclass(slots=True, eq=False)
class Entry:
    """One order as the engine tracks it: the order itself plus what matching needs.

    Compared by identity (``eq=False``): the book removes exactly the entry it was given.

    ``seq`` is the arrival sequence (time priority; renewed when an edit loses priority).
    ``filled_value`` is the exact sum of price * size over the fills, for the average price.
    ``where`` says which engine structure holds a working order: ``"book"`` (resting limit),
    ``"stop"`` (untriggered stop-limit), ``"deferred"`` (waiting for the next bar's open)
    or ``""`` (being placed, or terminal).
    """

    order: Order
    seq: int
    filled_value: Decimal = ZERO
    where: str = ""

    @property
    def limit(self) -> Decimal:
        price = self.order.limit_price
        if price is None:  # pragma: no cover - only limit orders rest in a book
            raise ValueError(f"order {self.order.client_order_id} has no limit price")
        return price


class BookSide:
    """Bids (``Side.BUY``) or asks (``Side.SELL``): resting entries and synthetic levels."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self._entries: list[Entry] = []
        self._levels: dict[Decimal, Decimal] = {}

    # -- price comparisons, from this side's point of view -------------------------------

    def better(self, a: Decimal, b: Decimal) -> bool:
        """True when price ``a`` is strictly better (more aggressive) than ``b`` on this side."""
        return a > b if self.side is Side.BUY else a < b

    def reachable(self, price: Decimal, limit: Decimal | None) -> bool:
        """Can a taker on the other side with ``limit`` (None: market) trade at ``price``?"""
        if limit is None:
            return True
        return price >= limit if self.side is Side.BUY else price <= limit

    # -- resting orders -------------------------------------------------------------------

    def _key(self, entry: Entry) -> tuple[Decimal, int]:
        price = entry.limit
        return (-price if self.side is Side.BUY else price, entry.seq)

    def add(self, entry: Entry) -> None:
        bisect.insort(self._entries, entry, key=self._key)
        entry.where = "book"

    def remove(self, entry: Entry) -> None:
        self._entries.remove(entry)
        entry.where = ""

    @property
    def entries(self) -> list[Entry]:
        """Resting entries, best first (a copy: safe to iterate while filling)."""
        return list(self._entries)

    @property
    def has_entries(self) -> bool:
        return bool(self._entries)

    def best_resting(self) -> Decimal | None:
        return self._entries[0].limit if self._entries else None

    # -- synthetic liquidity --------------------------------------------------------------

    def apply_levels(self, levels: Iterable[tuple[Decimal, Decimal]], snapshot: bool) -> None:
        """Set synthetic levels from a book update; size 0 removes a level."""
        if snapshot:
            self._levels.clear()
        for price, size in levels:
            if size > 0:
                self._levels[price] = size
            else:
                self._levels.pop(price, None)

    @property
    def has_levels(self) -> bool:
        return bool(self._levels)

    def levels(self) -> list[tuple[Decimal, Decimal]]:
        """Synthetic levels, best first."""
        return sorted(self._levels.items(), reverse=self.side is Side.BUY)

    def consume(self, price: Decimal, size: Decimal) -> None:
        """Take ``size`` from the synthetic level at ``price`` (removed when emptied)."""
        left = self._levels.get(price, ZERO) - size
        if left > 0:
            self._levels[price] = left
        else:
            self._levels.pop(price, None)

    def drop_level(self, price: Decimal) -> None:
        self._levels.pop(price, None)

    def best_level(self) -> Decimal | None:
        if not self._levels:
            return None
        return max(self._levels) if self.side is Side.BUY else min(self._levels)

    def best(self) -> Decimal | None:
        """Best price on this side, resting orders and synthetic levels together."""
        a, b = self.best_resting(), self.best_level()
        if a is None:
            return b
        if b is None:
            return a
        return a if self.better(a, b) else b
