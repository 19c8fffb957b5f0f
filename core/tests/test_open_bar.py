"""A bar built from trades keeps exact Decimals and becomes a Candle at its open time."""

from __future__ import annotations

from decimal import Decimal

from gpt_trader.domain import Candle
from gpt_trader.domain.bars import OpenBar


def test_trades_make_one_candle() -> None:
    bar = OpenBar.first(60_000_000_000, Decimal("100.10"), Decimal("0.5"))
    for price, size in (("100.30", "0.25"), ("99.90", "1"), ("100.00", "0.125")):
        bar.add(Decimal(price), Decimal(size))
    assert bar.candle("BTC-USD", 60) == Candle(
        "BTC-USD",
        60_000_000_000,
        Decimal("100.10"),
        Decimal("100.30"),
        Decimal("99.90"),
        Decimal("100.00"),
        Decimal("1.875"),
        interval_s=60,
    )
