"""Realised P&L by UTC day and product, replayed from the recorded fills.

The kernel's ledger gives each fill's realised P&L; the day it lands in is the fill's own
timestamp, so a round trip that spans midnight counts on the day it closed. Fees count on
the day they were paid. Figures are on the quote currency's increment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from gpt_trader.domain import Fill, Product
from gpt_trader.engine.ledger import Ledger
from gpt_trader.monitor.increments import Increments

NS = 1_000_000_000
ZERO = Decimal(0)


@dataclass(frozen=True)
class DayPnl:
    day: str  # YYYY-MM-DD, UTC
    symbol: str
    realized: Decimal
    fees: Decimal
    fills: int

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees


def pnl_by_day(fills: list[Fill], products: dict[str, Product], inc: Increments) -> list[DayPnl]:
    """One row per (day, symbol) with fills, oldest day first."""
    ledger = Ledger(dict(products), ZERO)
    realized: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    fees: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for fill in sorted(fills, key=lambda f: f.ts):
        day = datetime.fromtimestamp(fill.ts / NS, tz=UTC).strftime("%Y-%m-%d")
        key = (day, fill.symbol)
        realized[key] += ledger.apply_fill(fill)
        fees[key] += fill.fee
        counts[key] += 1
    return [
        DayPnl(
            day, symbol, inc.cash(realized[key], symbol), inc.cash(fees[key], symbol), counts[key]
        )
        for key in sorted(counts)
        for day, symbol in [key]
    ]
