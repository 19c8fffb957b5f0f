"""Bars: one being built from trades (:class:`OpenBar`), and columns of them for the replay
driver's vectorised path (:class:`BarSeries`).

Floats here are for indicator maths only; a Candle built from a row carries the exact
Decimal values of the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gpt_trader.domain.market import Candle

NO_SIGNAL = 2
"""Marker in a vectorised signal's output: nothing was emitted at this bar."""


@dataclass(slots=True)
class OpenBar:
    """A bar still taking trades; ``start`` is its open time (ns). Exact Decimals."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @classmethod
    def first(cls, start: int, price: Decimal, size: Decimal) -> OpenBar:
        return cls(start, price, price, price, price, size)

    def add(self, price: Decimal, size: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size

    def candle(self, symbol: str, interval_s: int) -> Candle:
        return Candle(
            symbol,
            self.start,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            interval_s=interval_s,
        )


@dataclass(slots=True)
class BarSeries:
    """One symbol's bars as columns. ``raw`` keeps the source text of O/H/L/C/V per bar.

    The columns are sequences, not necessarily lists: a column-wise reader hands in numpy
    arrays for the floats and text cut from the file only when a bar is asked for. ``ts``
    holds ints (they reach orders and JSON).
    """

    symbol: str
    interval_s: int
    ts: Sequence[int] = field(default_factory=list, repr=False)
    open: Sequence[float] = field(default_factory=list, repr=False)
    high: Sequence[float] = field(default_factory=list, repr=False)
    low: Sequence[float] = field(default_factory=list, repr=False)
    close: Sequence[float] = field(default_factory=list, repr=False)
    volume: Sequence[float] = field(default_factory=list, repr=False)
    raw: Sequence[tuple[str, str, str, str, str]] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.ts)

    def candle(self, i: int) -> Candle:
        o, h, lo, c, v = self.raw[i]
        return Candle(
            self.symbol,
            self.ts[i],
            Decimal(o),
            Decimal(h),
            Decimal(lo),
            Decimal(c),
            Decimal(v),
            self.interval_s,
        )

    def candles(self) -> list[Candle]:
        return [self.candle(i) for i in range(len(self))]
