"""Signals: crossing rules on hand-made prices, and compute() == update() on real data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import pairwise

import pytest
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import NS, Candle, Ticker
from gpt_trader_strategies.signals import (
    EmaCross,
    EmaCrossParams,
    MacdCross,
    MacdCrossParams,
    RsiReversion,
    RsiReversionParams,
    SmaCross,
    SmaCrossParams,
)
from pydantic import BaseModel, ValidationError

SYMBOL = "BTC-USD"
T0 = 1_747_699_200 * NS  # 2025-05-20T00:00:00Z

Crossing = SmaCross | EmaCross | RsiReversion | MacdCross
Data = tuple[BarSeries, list[Candle]]


def candle(i: int, price: float | str, symbol: str = SYMBOL) -> Candle:
    p = Decimal(str(price))
    return Candle(symbol, T0 + i * 60 * NS, p, p, p, p, Decimal(1), 60)


def series(prices: Sequence[float], symbol: str = SYMBOL) -> BarSeries:
    bars = BarSeries(symbol, 60)
    for i, price in enumerate(prices):
        text = str(price)
        bars.ts.append(T0 + i * 60 * NS)
        for col in (bars.open, bars.high, bars.low, bars.close):
            col.append(float(text))
        bars.volume.append(1.0)
        bars.raw.append((text, text, text, text, "1"))
    return bars


def emissions(signal: Crossing, candles: Sequence[Candle]) -> list[int]:
    """What ``update`` emits per candle, in ``compute``'s encoding."""
    out = []
    for c in candles:
        value = signal.update(c)
        out.append(NO_SIGNAL if value is None else int(value.action))
    return out


def events(codes: Sequence[int]) -> dict[int, Action]:
    return {i: Action(c) for i, c in enumerate(codes) if c != NO_SIGNAL}


def both(make: Callable[[], Crossing], prices: Sequence[float]) -> dict[int, Action]:
    """Events from update() bar by bar, checked equal to compute() over the same bars."""
    incremental = emissions(make(), [candle(i, p) for i, p in enumerate(prices)])
    assert make().compute(series(prices)) == incremental
    return events(incremental)


# -- SmaCross on hand-made prices --------------------------------------------------------


def test_sma_cross_known_crossing_bars() -> None:
    prices = [10, 10, 10, 11, 12, 11, 9, 8, 9, 12]
    # fast SMA(2): -, 10, 10, 10.5, 11.5, 11.5, 10, 8.5, 8.5, 10.5
    # slow SMA(3): -, -, 10, 10.33, 11, 11.33, 10.67, 9.33, 8.67, 9.67
    # bar 2 is the first where both exist (equal): nothing; up at 3, down at 6, up at 9
    assert both(lambda: SmaCross(SYMBOL, 2, 3), prices) == {
        3: Action.LONG,
        6: Action.FLAT,
        9: Action.LONG,
    }


def test_nothing_on_first_bar_where_both_exist() -> None:
    # at bar 2 fast (2.5) is already above slow (2): that is no cross
    assert both(lambda: SmaCross(SYMBOL, 2, 3), [1, 2, 3, 4, 5]) == {}
    # the first real cross may be downwards: FLAT is emitted
    assert both(lambda: SmaCross(SYMBOL, 2, 3), [1, 2, 3, 4, 5, 1]) == {5: Action.FLAT}


def test_touch_without_crossing_emits_nothing_new() -> None:
    # SMA(1) is the price; SMA(2) equals it when two prices repeat.
    # bar 2 crosses up; bar 3 touches (11 == 11); bar 4 is above again: the literal rule
    # (fast > slow now, fast <= slow before) fires, but the view is already LONG: no repeat.
    assert both(lambda: SmaCross(SYMBOL, 1, 2), [10, 9, 11, 11, 12, 10]) == {
        2: Action.LONG,
        5: Action.FLAT,
    }
    # touching then falling below is a cross down at the bar after the touch
    assert both(lambda: SmaCross(SYMBOL, 1, 2), [10, 9, 11, 11, 10]) == {
        2: Action.LONG,
        4: Action.FLAT,
    }


def test_emissions_alternate_and_carry_the_bar() -> None:
    signal = SmaCross(SYMBOL, 2, 3, full_bps=500, name="sma_fast")
    prices = [10, 10, 10, 11, 12, 11, 9, 8, 9, 12]
    values = [v for i, p in enumerate(prices) if (v := signal.update(candle(i, p))) is not None]
    assert [v.action for v in values] == [Action.LONG, Action.FLAT, Action.LONG]
    first = values[0]
    assert isinstance(first, SignalValue)
    # bar 3: SMA(2) 10.5, SMA(3) 32/3; gap 1/6 over close 11 is 151.5 bps of 500 -> 0.303
    assert (first.name, first.symbol) == ("sma_fast", SYMBOL)
    assert first.strength == pytest.approx((10.5 - 32 / 3) / -11 / 0.05)
    assert first.ts == candle(3, 11).close_ts  # decided at the close of bar 3
    # what the replay builds from compute_votes()
    _, strengths = SmaCross(SYMBOL, 2, 3, full_bps=500).compute_votes(series(prices))
    assert first == SignalValue("sma_fast", SYMBOL, first.ts, Action.LONG, strengths[3])
    assert signal.view is Action.LONG


def test_ignores_other_symbols_other_events_and_stale_bars() -> None:
    signal = SmaCross(SYMBOL, 1, 2)
    assert signal.update(candle(0, 10)) is None
    assert signal.update(candle(1, 9)) is None  # first bar with both: nothing
    assert signal.update(candle(2, 50, symbol="ETH-USD")) is None
    ticker = Ticker(SYMBOL, T0 + 120 * NS, Decimal(50), Decimal(49), Decimal(51))
    assert signal.update(ticker) is None
    assert signal.update(candle(1, 50)) is None  # a repeat of bar 1: ignored
    value = signal.update(candle(2, 11))
    assert value is not None
    assert value.action is Action.LONG


def test_compute_skips_stale_bars_like_update() -> None:
    prices = [10, 10, 10, 11, 12, 11, 9, 8, 9, 12]
    candles = [candle(i, p) for i, p in enumerate(prices)]
    # a duplicate of bar 3 with another price, and a late bar 1, inserted after bar 5
    messy = [*candles[:6], candle(3, 1), candle(1, 100), *candles[6:]]
    bars = BarSeries(SYMBOL, 60)
    for c in messy:
        bars.ts.append(c.ts)
        bars.close.append(float(c.close))
    incremental = emissions(SmaCross(SYMBOL, 2, 3), messy)
    assert SmaCross(SYMBOL, 2, 3).compute(bars) == incremental
    assert events(incremental) == {3: Action.LONG, 8: Action.FLAT, 11: Action.LONG}


def test_compute_is_pure_and_symbol_bound() -> None:
    signal = SmaCross(SYMBOL, 2, 3)
    bars = series([10, 10, 10, 11, 12])
    assert signal.compute(bars) == signal.compute(bars)
    assert signal.view is None  # compute does not move the incremental state
    assert signal.compute(series([10, 10, 10, 11, 12], symbol="ETH-USD")) == [NO_SIGNAL] * 5
    assert signal.compute(BarSeries(SYMBOL, 60)) == []


# -- the other signals on hand-made prices -------------------------------------------------


def test_rsi_reversion_crossings() -> None:
    # RSI(1) is 0 after a fall, 100 after a rise, 50 when unchanged
    prices = [10, 9, 8, 9, 10, 9, 9]
    # RSI:      -, 0, 0, 100, 100, 0, 50
    # up through 30 at bar 3, down through 70 at bar 5, up through 30 again at bar 6
    assert both(lambda: RsiReversion(SYMBOL, 1), prices) == {
        3: Action.LONG,
        5: Action.FLAT,
        6: Action.LONG,
    }
    # crossing up through 30 twice without reaching 70 in between: one LONG
    # RSI: -, 0, 50, 0, 50
    assert both(lambda: RsiReversion(SYMBOL, 1), [10, 9, 9, 8, 8]) == {2: Action.LONG}


def test_ema_cross_crossings() -> None:
    # EMA(1) is the price; EMA(3) (alpha 1/2) seeded with the mean of the first three
    prices = [10, 10, 10, 12, 11, 9, 10]
    # slow: -, -, 10, 11, 11, 10, 10 ; fast: the prices. bar 3 up, bar 5 down, bar 6 equal
    assert both(lambda: EmaCross(SYMBOL, 1, 3), prices) == {3: Action.LONG, 5: Action.FLAT}


def test_macd_cross_crossings() -> None:
    # MACD(2, 4, 2): line == signal == 0 while flat (bars 4-9: the first bar with a signal
    # line is no cross); the rise lifts the line above the signal at bar 10, the fall
    # from bar 15 takes it below, the rebound at bar 20 above again
    prices = [10.0] * 10 + [11, 12, 13, 14, 15, 14, 13, 12, 11, 10, 11, 12, 13]
    assert both(lambda: MacdCross(SYMBOL, 2, 4, 2), prices) == {
        10: Action.LONG,
        15: Action.FLAT,
        20: Action.LONG,
    }


# -- compute() == update() on real data -----------------------------------------------------

SIGNALS: dict[str, Callable[[], Crossing]] = {
    "sma_cross": lambda: SmaCross(SYMBOL),
    "sma_cross_1_2": lambda: SmaCross(SYMBOL, 1, 2),
    "sma_cross_50_200": lambda: SmaCross(SYMBOL, 50, 200),
    "ema_cross": lambda: EmaCross(SYMBOL),
    "ema_cross_3_7": lambda: EmaCross(SYMBOL, 3, 7),
    "rsi": lambda: RsiReversion(SYMBOL),
    "rsi_2_10_90": lambda: RsiReversion(SYMBOL, 2, 10, 90),
    "macd_cross": lambda: MacdCross(SYMBOL),
    "macd_cross_3_10_16": lambda: MacdCross(SYMBOL, 3, 10, 16),
}


@pytest.mark.parametrize("key", list(SIGNALS))
def test_compute_equals_update_on_sample(key: str, sample: Data) -> None:
    bars, candles = sample
    incremental = emissions(SIGNALS[key](), candles)
    assert SIGNALS[key]().compute(bars) == incremental
    codes = [c for c in incremental if c != NO_SIGNAL]
    assert codes, "no emission at all: the test would prove nothing"
    assert all(a != b for a, b in pairwise(codes))  # alternating


@pytest.mark.parametrize("key", ["sma_cross", "ema_cross", "rsi", "macd_cross"])
def test_compute_equals_update_on_full_file(key: str, full: Data) -> None:
    bars, candles = full
    assert len(bars) == 130_708
    incremental = emissions(SIGNALS[key](), candles)
    assert SIGNALS[key]().compute(bars) == incremental


# -- params ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        (SmaCrossParams, {"fast": 30, "slow": 10}, "fast (30) must be less than slow (10)"),
        (SmaCrossParams, {"fast": 20, "slow": 20}, "fast (20) must be less than slow (20)"),
        (SmaCrossParams, {"fast": -1}, "greater than 0"),
        (SmaCrossParams, {"slow": 0}, "greater than 0"),
        (SmaCrossParams, {"fast": 5, "slow": 10, "period": 3}, "Extra inputs are not permitted"),
        (EmaCrossParams, {"fast": 26, "slow": 12}, "fast (26) must be less than slow (12)"),
        (MacdCrossParams, {"signal": 0}, "greater than 0"),
        (MacdCrossParams, {"fast": 30}, "fast (30) must be less than slow (26)"),
        (RsiReversionParams, {"period": 0}, "greater than 0"),
        (RsiReversionParams, {"oversold": 80}, "oversold (80.0) must be less than overbought"),
        (RsiReversionParams, {"overbought": 120}, "less than or equal to 100"),
    ],
)
def test_params_validation_messages(
    model: type[BaseModel], params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=r".") as info:
        model(**params)
    assert message in str(info.value)


def test_params_defaults_and_direct_construction_validate() -> None:
    full = {"full_bps": 10.0, "name": None}
    assert SmaCrossParams().model_dump() == {"fast": 10, "slow": 30, **full}
    assert EmaCrossParams().model_dump() == {"fast": 12, "slow": 26, **full}
    assert MacdCrossParams().model_dump() == {"fast": 12, "slow": 26, "signal": 9, **full}
    assert RsiReversionParams().model_dump() == {
        "period": 14,
        "oversold": 30.0,
        "overbought": 70.0,
        "name": None,
    }
    with pytest.raises(ValidationError, match="must be less than slow"):
        SmaCross(SYMBOL, 30, 10)
    with pytest.raises(ValueError, match="needs a symbol"):
        SmaCross("")
    assert SmaCross(SYMBOL).name == "sma_cross"
    assert MacdCross.from_params(MacdCrossParams(name="m"), SYMBOL).name == "m"
