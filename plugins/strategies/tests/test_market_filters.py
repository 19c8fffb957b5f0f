"""Market filters (volume, momentum, trend, volatility, spread) and the weekdays of
``hours``: hand-made bars, and each verdict on the shipped data against TA-Lib."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import numpy as np
import pytest
import talib
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.decisions import Action, Decision
from gpt_trader.domain.market import NS, BookView, Candle, datetime_to_ts
from gpt_trader.protocols import StateView
from gpt_trader_strategies.filters import HoursFilter, HoursParams
from gpt_trader_strategies.market_filters import (
    MomentumFilter,
    SpreadFilter,
    TrendFilter,
    VolatilityFilter,
    VolumeFilter,
)
from pydantic import ValidationError

SYMBOL = "BTC-USD"
T0 = 1_747_699_200 * NS
Data = tuple[BarSeries, list[Candle]]


@dataclass
class State:
    """What these filters read of :class:`StateView`: the time and the books."""

    now: int = T0
    books: dict[str, BookView] = field(default_factory=dict)

    def book(self, symbol: str) -> BookView | None:
        return self.books.get(symbol)


STATE = cast(StateView, State())


def feed(flt: object, bars: Sequence[tuple[float, float, float, float]], start: int = 0) -> None:
    for i, (h, lo, c, v) in enumerate(bars, start):
        d = [Decimal(str(x)) for x in (h, lo, c, v)]
        flt.observe(Candle(SYMBOL, T0 + i * 60 * NS, d[2], d[0], d[1], d[2], d[3], 60))  # type: ignore[attr-defined]


def verdict(flt: object, action: Action = Action.LONG, state: StateView = STATE) -> str | None:
    result = flt.allow(Decision(SYMBOL, 0, action), state)  # type: ignore[attr-defined]
    return None if result.allowed else result.reason


def closes(prices: Sequence[float]) -> list[tuple[float, float, float, float]]:
    return [(p, p, p, 1.0) for p in prices]


# -- hand-made bars ---------------------------------------------------------------------------


def test_every_market_filter_fails_closed_until_warm_and_passes_exits() -> None:
    filters = [VolumeFilter(relative=1), MomentumFilter(), TrendFilter(), VolatilityFilter(), SpreadFilter()]  # fmt: skip
    for flt in filters:
        assert verdict(flt) == "no bars seen yet"
        assert verdict(flt, Action.FLAT) is None
    feed(filters[1], closes([100]))
    assert verdict(filters[1]) == "fewer than 11 bars for the momentum"


def test_volume_absolute_and_relative() -> None:
    flt = VolumeFilter(min_volume=2, relative=1.5, period=2)
    feed(flt, [(1, 1, 1, 1), (1, 1, 1, 1)])
    assert verdict(flt) == "volume 1 below minimum 2"
    feed_more = [(1, 1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 3)]
    flt = VolumeFilter(min_volume=2, relative=1.5, period=2)
    feed(flt, feed_more)
    assert verdict(flt) is None  # 3 against the mean 1 of the two bars before
    flt.observe(Candle(SYMBOL, T0 + 3 * 60 * NS, *(Decimal(1),) * 4, Decimal(2), 60))
    assert verdict(flt) == "relative volume 1.00 below 1.5"  # 2 against (1 + 3) / 2
    stale = Candle(SYMBOL, T0, *(Decimal(1),) * 4, Decimal(100), 60)
    flt.observe(stale)  # a late bar is ignored, as the signals ignore it
    assert verdict(flt) == "relative volume 1.00 below 1.5"


def test_momentum_in_the_entry_direction() -> None:
    flt = MomentumFilter(period=2, min_pct=1)
    feed(flt, closes([100, 101, 102]))  # +2 % over 2 bars
    assert verdict(flt) is None
    assert verdict(flt, Action.SHORT) == "momentum +2.00% over 2 bars, needs 1%"
    flt = MomentumFilter(period=2, min_pct=1)
    feed(flt, closes([100, 100, 100.5]))
    assert verdict(flt) == "momentum +0.50% over 2 bars, needs 1%"


def test_trend_sma_and_adx() -> None:
    flt = TrendFilter(period=3)
    feed(flt, closes([1, 2, 3]))
    assert verdict(flt) is None  # 3 over SMA 2
    assert verdict(flt, Action.SHORT) == "close 3 not below SMA(3) 2"
    flt = TrendFilter(period=3, min_adx=30, adx_period=2)
    rising = [(10 + i, 9 + i, 9.5 + i, 1) for i in range(3)]
    feed(flt, rising)
    assert verdict(flt) == "not enough bars for ADX(2)"
    feed(flt, [(10 + i, 9 + i, 9.5 + i, 1) for i in range(3, 5)], start=3)
    assert verdict(flt) is None  # ADX 100 on a steady rise
    chop = TrendFilter(period=2, min_adx=30, adx_period=2)
    # ADX(2) over these: -, -, -, 38.1, 27.2 (the swings cancel out); close 11.2 over SMA 11.1
    feed(chop, [(10, 9, 9.5, 1), (11, 9.5, 10.5, 1), (10.5, 8.5, 9.6, 1), (11.5, 9, 11, 1), (11.2, 8.8, 11.2, 1)])  # fmt: skip
    assert verdict(chop) == "ADX 27.2 below 30"


def test_volatility_band() -> None:
    flt = VolatilityFilter(period=1, min_bps=50, max_bps=150)
    feed(flt, [(100, 100, 100, 1), (101, 100, 100, 1)])  # TR 1 on 100: 100 bps
    assert verdict(flt) is None
    flt.observe(Candle(SYMBOL, T0 + 120 * NS, *(Decimal(100),) * 4, Decimal(1), 60))
    assert verdict(flt) == "ATR 0.0 bps outside [50, 150]"
    with pytest.raises(ValidationError, match="min_bps"):
        VolatilityFilter(min_bps=20, max_bps=10)


def test_spread_from_the_book_else_the_bar_range() -> None:
    flt = SpreadFilter(max_bps=10)
    feed(flt, [(100.2, 100, 100.1, 1)])  # range 0.2 on 100.1: 19.98 bps
    assert verdict(flt) == "bar range 20.0 bps above 10 (no book)"
    book = BookView(SYMBOL, T0, ((Decimal(100), Decimal(1)),), ((Decimal("100.05"), Decimal(1)),))
    tight = cast(StateView, State(books={SYMBOL: book}))
    assert verdict(flt, state=tight) is None  # 5 bps on the book wins over the bar
    wide = BookView(SYMBOL, T0, ((Decimal(100), Decimal(1)),), ((Decimal("100.2"), Decimal(1)),))
    reason = verdict(flt, state=cast(StateView, State(books={SYMBOL: wide})))
    assert reason == "book spread 20.0 bps above 10"
    assert verdict(SpreadFilter(max_bps=10), state=tight) is None  # the book needs no bars


def test_hours_days_of_the_week() -> None:
    def at(day: int, hour: int) -> StateView:  # 2025-05-19 was a Monday
        return cast(
            StateView, State(now=datetime_to_ts(datetime(2025, 5, 19 + day, hour, tzinfo=UTC)))
        )

    weekdays = HoursFilter(8, 16, days=["mon", "tue", "wed", "thu", "fri"])
    assert weekdays.allow(Decision(SYMBOL, 0, Action.LONG), at(4, 9)).allowed  # Friday
    saturday = weekdays.allow(Decision(SYMBOL, 0, Action.LONG), at(5, 9))
    assert saturday.reason == "outside trading hours 08:00-16:00 UTC on mon,tue,wed,thu,fri (now sat 09:00 UTC)"  # fmt: skip
    assert weekdays.allow(Decision(SYMBOL, 0, Action.FLAT), at(6, 9)).allowed
    assert [d for d in range(7) if HoursFilter(days=["sun"]).is_open(at(d, 12).now)] == [6]
    with pytest.raises(ValidationError, match=r"days\.0"):
        HoursParams(days=["funday"])
    with pytest.raises(ValidationError, match="at least 1 item"):
        HoursParams(days=[])


# -- against TA-Lib on the shipped data -----------------------------------------------------


def verdicts(flt: object, sample: Data, action: Action = Action.LONG) -> np.ndarray:
    out = []
    for c in sample[1]:
        flt.observe(c)  # type: ignore[attr-defined]
        out.append(verdict(flt, action) is None)
    return np.array(out)


def test_filters_agree_with_talib_on_the_sample(sample: Data) -> None:
    bars = sample[0]
    high, low, close, volume = (np.array(c) for c in (bars.high, bars.low, bars.close, bars.volume))
    with np.errstate(invalid="ignore"):
        sma = talib.SMA(close, 200)
        adx = talib.ADX(high, low, close, 14)
        expected = (close > sma) & (adx >= 20)
        assert np.array_equal(verdicts(TrendFilter(200, min_adx=20), sample), expected)
        roc = talib.ROC(close, 10)
        expected = roc >= 0.05
        got = verdicts(MomentumFilter(10, min_pct=0.05), sample)
        near = np.abs(roc - 0.05) < 1e-9  # the two ways of rounding may part at a tie
        assert np.array_equal(got[~near], expected[~near])
        mean_before = np.roll(talib.SMA(volume, 20), 1)
        mean_before[0] = np.nan
        expected = (volume >= 1) & (volume >= 1.2 * mean_before)
        assert np.array_equal(verdicts(VolumeFilter(1, 1.2, 20), sample), expected)
        atr_bps = talib.ATR(high, low, close, 14) / close * 10_000
        expected = (atr_bps >= 3) & (atr_bps <= 8)
        assert np.array_equal(verdicts(VolatilityFilter(14, 3, 8), sample), expected)
        assert expected.any()
        assert not expected.all()
