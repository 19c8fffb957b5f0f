"""The channel, oscillator and rule signals: hand-made bars, TA-Lib's indicators on the
shipped data, compute_votes() == update() (actions and strengths), and strengths that make
the ``confidence`` voter differ from ``weighted``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

import numpy as np
import pytest
import talib
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import NS, Candle
from gpt_trader_strategies.channels import AtrChannel, Bollinger, Donchian, VwapReversion, ZScore
from gpt_trader_strategies.oscillators import AdxTrend, StochasticCross
from gpt_trader_strategies.rules import Rule
from gpt_trader_strategies.signals import BarSignal, EmaCross, MacdCross, RsiReversion, SmaCross
from gpt_trader_strategies.voters import ConfidenceWeighted, Weighted
from pydantic import ValidationError

SYMBOL = "BTC-USD"
T0 = 1_747_699_200 * NS
Data = tuple[BarSeries, list[Candle]]
Bar = tuple[float, float, float] | tuple[float, float, float, float]  # high, low, close[, vol]


def candles(bars: Sequence[Bar]) -> list[Candle]:
    out = []
    for i, bar in enumerate(bars):
        h, lo, c = (Decimal(str(x)) for x in bar[:3])
        v = Decimal(str(bar[3])) if len(bar) > 3 else Decimal(1)
        out.append(Candle(SYMBOL, T0 + i * 60 * NS, c, h, lo, c, v, 60))
    return out


def series(cs: Sequence[Candle]) -> BarSeries:
    bars = BarSeries(SYMBOL, 60)
    for c in cs:
        bars.ts.append(c.ts)
        bars.open.append(float(c.open))
        bars.high.append(float(c.high))
        bars.low.append(float(c.low))
        bars.close.append(float(c.close))
        bars.volume.append(float(c.volume))
        bars.raw.append(tuple(str(x) for x in (c.open, c.high, c.low, c.close, c.volume)))  # type: ignore[arg-type]
    return bars


def votes(make: Callable[[], BarSignal], cs: Sequence[Candle]) -> dict[int, tuple[Action, float]]:
    """update() bar by bar, checked equal to compute_votes() over the same bars."""
    signal = make()
    out = {i: (v.action, v.strength) for i, c in enumerate(cs) if (v := signal.update(c))}
    actions, strengths = make().compute_votes(series(cs))
    assert {i: (Action(a), strengths[i]) for i, a in enumerate(actions) if a != NO_SIGNAL} == out
    return out


def closes(prices: Sequence[float]) -> list[Candle]:
    return candles([(p, p, p) for p in prices])


# -- hand-made bars ---------------------------------------------------------------------------


def test_bollinger_breakout_and_exit() -> None:
    # period 3, k 1: bar 3 (13 over 10, 10, 13): mean 11, std sqrt(2) -> z = 2 / 1.414 = 1.41
    got = votes(lambda: Bollinger(SYMBOL, period=3, k=1), closes([10, 10, 10, 13, 13, 9]))
    assert got[3] == (Action.LONG, pytest.approx(2 / 2**0.5 / 2))
    # bar 5: 13, 13, 9: mean 35/3, std sqrt(32/9) -> z = (9 - 35/3) / 1.886 = -1.41
    assert got[5] == (Action.FLAT, pytest.approx(1.0))
    assert sorted(got) == [3, 5]


def test_zscore_reverts() -> None:
    # period 3, entry 1, exit 0: bar 3 drops to 7 under 10, 10 -> mean 9, std sqrt(2),
    # z = -1.41: LONG, strength 1.41 / 2
    got = votes(lambda: ZScore(SYMBOL, period=3, entry=1), closes([10, 10, 10, 7, 9, 11]))
    assert got[3] == (Action.LONG, pytest.approx(2**0.5 / 2))
    # bar 4: 10, 7, 9: mean 26/3, std sqrt(14/9) -> z = (1/3) / 1.247 = 0.267 > 0: FLAT,
    # strength (z + 1) / 2
    z = (9 - 26 / 3) / (14 / 9) ** 0.5
    assert got[4] == (Action.FLAT, pytest.approx((z + 1) / 2))
    assert sorted(got) == [3, 4]
    with pytest.raises(ValidationError, match=r"exit \(-3.0\) must be above -entry"):
        ZScore(SYMBOL, entry=2, exit=-3)


def test_donchian_breaks_the_prior_channel() -> None:
    bars = [(10, 9, 9.5), (11, 9, 10), (10.5, 9.5, 10), (12, 10, 11.5), (11, 8, 8.5)]
    got = votes(lambda: Donchian(SYMBOL, period=3, exit_period=2), candles(bars))
    # bar 3: close 11.5 over the prior 3 highs' 11 -> LONG, (11.5 - 11) / (12 - 10) = 0.25
    assert got[3] == (Action.LONG, pytest.approx(0.25))
    # bar 4: close 8.5 under the prior 2 lows' 9.5 -> FLAT, (9.5 - 8.5) / (11 - 8) = 1/3
    assert got[4] == (Action.FLAT, pytest.approx(1 / 3))
    assert sorted(got) == [3, 4]


def test_atr_channel() -> None:
    # EMA(2) (alpha 2/3, seeded with the mean of 2 closes), ATR(1) = the bar's true range
    bars = [(10, 10, 10), (10, 10, 10), (10.2, 10, 10.2), (13, 12, 13), (11, 10, 10)]
    got = votes(lambda: AtrChannel(SYMBOL, period=2, atr_period=1, mult=0.25), candles(bars))
    # bar 2: EMA 10.133, TR 0.2 -> upper 10.133 + 0.05 = 10.183, under the close 10.2: LONG
    ema2 = 10 + 2 / 3 * 0.2
    assert got[2] == (Action.LONG, pytest.approx((10.2 - (ema2 + 0.25 * 0.2)) / 0.2))
    # bar 3: EMA 12.04, TR 2.8 -> close 13 is over upper 12.74 but already LONG
    # bar 4: EMA 12.04 + 2/3 (10 - 12.04) = 10.68, TR 3: close 10 under it -> FLAT
    ema3 = ema2 + 2 / 3 * (13 - ema2)
    ema4 = ema3 + 2 / 3 * (10 - ema3)
    assert got[4] == (Action.FLAT, pytest.approx((ema4 - 10) / 3))
    assert sorted(got) == [2, 4]


def test_vwap_reversion() -> None:
    bars = [(10, 10, 10, 1), (10, 10, 10, 1), (9.9, 9.9, 9.9, 1), (10.2, 10.2, 10.2, 1)]
    got = votes(lambda: VwapReversion(SYMBOL, period=2, entry_bps=20), candles(bars))
    # bar 2: VWAP (10 + 9.9) / 2 = 9.95, close 9.9 is 50.25 bps under: LONG, 50.25 / 40 -> 1
    assert got[2] == (Action.LONG, 1.0)
    # bar 3: VWAP 10.05, close 10.2 is 149 bps over: FLAT 1
    assert got[3] == (Action.FLAT, 1.0)


def test_stochastic_cross() -> None:
    # k 2, d 2, oversold 40: falling then a bounce
    bars = [(10, 9, 9), (9, 8, 8), (8, 7, 7.1), (8, 7, 7.9)]
    got = votes(
        lambda: StochasticCross(SYMBOL, k_period=2, d_period=2, oversold=40, overbought=80),
        candles(bars),
    )
    # %K: -, 0, 5, 45; %D: -, -, 2.5, 25. Bar 3: K 45 > D 25 after 5 > 2.5: not a cross.
    assert got == {}
    bars = [(10, 9, 9), (9, 8, 8), (8, 7, 7), (8, 7, 7.5)]
    got = votes(lambda: StochasticCross(SYMBOL, k_period=2, d_period=2, oversold=40), candles(bars))
    # %K: -, 0, 0, 50; %D: -, -, 0, 25 -> bar 3 crosses up with %D 25 < 40: LONG 0.75
    assert got == {3: (Action.LONG, pytest.approx(0.75))}


def test_adx_trend() -> None:
    rising = [(10 + i, 9 + i, 9.5 + i) for i in range(8)]
    got = votes(lambda: AdxTrend(SYMBOL, period=2, threshold=25), candles(rising))
    # every bar moves up one: +DI 100, -DI 0, DX 100, ADX 100 from bar 3 -> LONG, 100/50 -> 1
    assert got == {3: (Action.LONG, 1.0)}
    falling = rising + [(16 - i, 15 - i, 15.5 - i) for i in range(4)]
    got = votes(lambda: AdxTrend(SYMBOL, period=2, threshold=25), candles(falling))
    flat_at = [i for i, (a, _) in got.items() if a is Action.FLAT]
    assert flat_at
    assert flat_at[0] >= 8


# -- against TA-Lib on the shipped data -----------------------------------------------------


def change_only(up: np.ndarray, down: np.ndarray) -> dict[int, Action]:
    """Events kept only where they change the view (what the signals emit)."""
    out, view = {}, None
    for i in np.flatnonzero(up | down):
        action = Action.LONG if up[i] else Action.FLAT
        if action is not view:
            out[int(i)], view = action, action
    return out


def actions(signal: BarSignal, bars: BarSeries) -> dict[int, Action]:
    return {i: Action(a) for i, a in enumerate(signal.compute(bars)) if a != NO_SIGNAL}


def columns(sample: Data) -> tuple[np.ndarray, ...]:
    b = sample[0]
    return tuple(np.array(c) for c in (b.high, b.low, b.close, b.volume))


def test_channel_signals_follow_talib(sample: Data) -> None:
    high, low, close, volume = columns(sample)
    bars = sample[0]
    with np.errstate(invalid="ignore"):
        mid = talib.SMA(close, 20)
        upper, _, _ = talib.BBANDS(close, 20, 2, 2)
        expected = change_only(close > upper, close < mid)
        assert actions(Bollinger(SYMBOL), bars) == expected
        std = talib.STDDEV(close, 20, 1)
        z = (close - mid) / std
        assert actions(ZScore(SYMBOL), bars) == change_only(z < -2, z > 0)
        hh = np.roll(talib.MAX(high, 20), 1)
        ll = np.roll(talib.MIN(low, 10), 1)
        hh[0] = ll[0] = np.nan
        assert actions(Donchian(SYMBOL), bars) == change_only(close > hh, close < ll)
        ema, atr = talib.EMA(close, 20), talib.ATR(high, low, close, 14)
        expected = change_only(close > ema + 2 * atr, close < ema)
        assert actions(AtrChannel(SYMBOL), bars) == expected
        vwap = talib.SUM(talib.TYPPRICE(high, low, close) * volume, 20) / talib.SUM(volume, 20)
        dev = (close - vwap) / vwap * 10_000
        assert actions(VwapReversion(SYMBOL), bars) == change_only(dev < -50, dev >= 0)


def test_oscillator_signals_follow_talib(sample: Data) -> None:
    high, low, close, _ = columns(sample)
    bars = sample[0]
    with np.errstate(invalid="ignore"):
        k, d = talib.STOCHF(high, low, close, 14, 3, 0)
        pk, pd_ = np.roll(k, 1), np.roll(d, 1)
        pk[0] = pd_[0] = np.nan
        up = (k > d) & (pk <= pd_) & (d < 20)
        down = (k < d) & (pk >= pd_) & (d > 80)
        assert actions(StochasticCross(SYMBOL), bars) == change_only(up, down)
        adx = talib.ADX(high, low, close, 14)
        plus, minus = talib.PLUS_DI(high, low, close, 14), talib.MINUS_DI(high, low, close, 14)
        up = (adx > 25) & (plus > minus)
        down = ~up & ((adx < 25) | (minus > plus)) & ~np.isnan(adx)
        assert actions(AdxTrend(SYMBOL), bars) == change_only(up, down)


# -- both paths, strengths ------------------------------------------------------------------

ALL: dict[str, Callable[[], BarSignal]] = {
    "sma_cross": lambda: SmaCross(SYMBOL, 10, 30),
    "ema_cross": lambda: EmaCross(SYMBOL),
    "macd_cross": lambda: MacdCross(SYMBOL),
    "rsi": lambda: RsiReversion(SYMBOL),
    "bollinger": lambda: Bollinger(SYMBOL),
    "donchian": lambda: Donchian(SYMBOL),
    "atr_channel": lambda: AtrChannel(SYMBOL),
    "vwap": lambda: VwapReversion(SYMBOL, entry_bps=10),
    "zscore": lambda: ZScore(SYMBOL),
    "stochastic": lambda: StochasticCross(SYMBOL),
    "adx": lambda: AdxTrend(SYMBOL),
    "rule": lambda: Rule(
        SYMBOL,
        long="rsi(14) < 35 or close > bb_upper(20, 2) and adx(14) > 20",
        flat="rsi(14) > 65",
        strength="(100 - rsi(14)) / 100",
    ),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_compute_votes_equal_update_with_real_strength(sample: Data, name: str) -> None:
    _bars, cs = sample
    got = votes(ALL[name], cs)
    assert len(got) >= 4, "the sample should exercise the signal"
    strengths = [s for _, s in got.values()]
    assert all(0.0 <= s <= 1.0 for s in strengths)
    assert len(set(strengths)) > 1, "a real strength varies"
    emitted = [got[i][0] for i in sorted(got)]
    assert all(a is not b for a, b in itertools.pairwise(emitted))


def test_votes_carry_strength_the_replay_rebuilds() -> None:
    cs = closes([10, 10, 10, 13, 13, 9])
    signal = Bollinger(SYMBOL, period=3, k=1, name="bb")
    value = next(v for c in cs if (v := signal.update(c)))
    actions_, strengths = Bollinger(SYMBOL, period=3, k=1).compute_votes(series(cs))
    assert value == SignalValue("bb", SYMBOL, cs[3].close_ts, Action(actions_[3]), strengths[3])


def test_confidence_voter_now_differs_from_weighted(sample: Data) -> None:
    """With three signals, the strength-weighted vote decides differently from the plain
    weighted one at some bars (when every strength was 1.0 they were always equal)."""
    _, cs = sample
    signals = [ALL["sma_cross"](), ALL["rsi"](), ALL["bollinger"]()]
    latest: dict[str, SignalValue] = {}
    weighted, confidence = Weighted(threshold=0.2), ConfidenceWeighted(threshold=0.2)
    differ = 0
    for c in cs:
        for s in signals:
            if (v := s.update(c)) is not None:
                latest[s.name] = v
        if len(latest) == 3:
            w = weighted.combine(SYMBOL, c.close_ts, list(latest.values()))
            k = confidence.combine(SYMBOL, c.close_ts, list(latest.values()))
            assert w is not None
            assert k is not None
            differ += (w.action, w.confidence) != (k.action, k.confidence)
    assert differ > 0
