"""The bar indicators: hand-computed values, and the O(1) classes held to TA-Lib (the kept
library) on the shipped data, as are the vectorised SMA / EMA / RSI / MACD."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import talib
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.market import Candle
from gpt_trader_strategies.indicators import (
    Adx,
    Atr,
    MeanStd,
    RollingMax,
    RollingMin,
    Stochastic,
    Vwap,
    ema_array,
    macd_array,
    rsi_array,
    sma_array,
)

Data = tuple[BarSeries, list[Candle]]
RTOL = 1e-9


def run(update: Callable[..., float | None], *cols: Sequence[float]) -> np.ndarray:
    """The class fed bar by bar, NaN where it returns None."""
    return np.array(
        [math.nan if (v := update(*row)) is None else v for row in zip(*cols, strict=True)]
    )


def same(ours: np.ndarray, lib: np.ndarray) -> None:
    """Same warm-up (NaN positions) and the same values to ``RTOL``."""
    assert np.array_equal(np.isnan(ours), np.isnan(lib))
    np.testing.assert_allclose(ours, lib, rtol=RTOL, atol=1e-9)


def cols(sample: Data) -> tuple[np.ndarray, ...]:
    bars = sample[0]
    return tuple(np.array(c) for c in (bars.high, bars.low, bars.close, bars.volume))


# -- hand-computed ---------------------------------------------------------------------------


def test_mean_std_by_hand() -> None:
    ms = MeanStd(3)
    assert [ms.update(x) for x in (2.0, 4.0)] == [None, None]
    assert ms.update(6.0) == pytest.approx(math.sqrt(8 / 3))  # mean 4: (4 + 0 + 4) / 3
    assert ms.mean == pytest.approx(4.0)
    assert ms.update(6.0) == pytest.approx(math.sqrt(8 / 9))  # 4, 6, 6: mean 16/3
    assert ms.update(6.0) == 0.0  # a flat window is flat, not a rounding residue
    with pytest.raises(ValueError, match="positive integer"):
        MeanStd(0)


def test_rolling_extremes_by_hand() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    highest, lowest = RollingMax(3), RollingMin(3)
    assert [highest.update(v) for v in values] == [None, None, 4, 4, 5, 9, 9, 9]
    assert [lowest.update(v) for v in values] == [None, None, 1, 1, 1, 1, 2, 2]


def test_atr_by_hand() -> None:
    atr = Atr(2)
    # true ranges from the second bar: max(h - l, |h - prev c|, |l - prev c|)
    assert atr.update(10, 8, 9) is None
    assert atr.update(12, 9, 11) is None  # tr 3
    assert atr.update(11, 10, 10) == pytest.approx(2.0)  # tr 1: mean (3 + 1) / 2
    assert atr.update(15, 14, 15) == pytest.approx((2.0 + 5.0) / 2)  # tr |15 - 10| = 5


def test_stochastic_by_hand() -> None:
    st = Stochastic(3, 2)
    assert st.update(10, 8, 9) is None
    assert st.update(12, 9, 11) is None
    assert st.update(11, 10, 10) is None  # %K = 100 * (10 - 8) / (12 - 8) = 50, no %D yet
    assert st.k == pytest.approx(50.0)
    assert st.update(13, 11, 13) == pytest.approx((50.0 + 100.0) / 2)  # %K 100 (high 13, low 9)
    flat = Stochastic(2, 1)
    flat.update(5, 5, 5)
    assert flat.update(5, 5, 5) == 50.0  # no range reads neutral


def test_adx_by_hand() -> None:
    adx = Adx(2)
    bars = [(10, 9, 9.5), (11, 9.5, 10.5), (12, 10.5, 11.5), (12.5, 11, 11)]
    out = [adx.update(*b) for b in bars]
    # bar 1: +DM 1, -DM 0, TR 1.5 (summed over period - 1 = 1 bar)
    # bar 2: +DM 1, TR 1.5 -> smoothed 1 - 1/2 + 1 = 1.5 and 1.5 - 0.75 + 1.5 = 2.25
    #        +DI = 100 * 1.5 / 2.25, -DI 0 -> DX 100
    # bar 3: +DM 0.5, -DM 0 (up 0.5 > down -0.5), TR 1.5 -> +DM 1.25, TR 2.625: DX 100
    assert out[:3] == [None, None, None]
    assert adx.plus_di == pytest.approx(100 * 1.25 / 2.625)
    assert adx.minus_di == 0.0
    assert out[3] == pytest.approx(100.0)


def test_vwap_by_hand() -> None:
    vwap = Vwap(2)
    assert vwap.update(12, 6, 9, 1) is None  # typical 9
    assert vwap.update(13, 10, 10, 3) == pytest.approx((9 * 1 + 11 * 3) / 4)
    assert vwap.update(10, 10, 10, 0) == pytest.approx(11.0)  # the empty bar adds nothing
    assert vwap.update(10, 10, 10, 0) is None  # nothing traded in the window


# -- against TA-Lib on the shipped data ------------------------------------------------------


def test_mean_std_equals_talib(sample: Data) -> None:
    _, _, close, _ = cols(sample)
    for period in (2, 20, 50):
        ms = MeanStd(period)
        std = run(ms.update, close)
        same(std, talib.STDDEV(close, period, 1))
        ms = MeanStd(period)
        mean = run(lambda x, ms=ms: None if ms.update(x) is None else ms.mean, close)
        same(mean, talib.SMA(close, period))


def test_rolling_extremes_equal_talib(sample: Data) -> None:
    high, low, _, _ = cols(sample)
    for period in (2, 20, 240):
        assert np.array_equal(run(RollingMax(period).update, high), talib.MAX(high, period), True)
        assert np.array_equal(run(RollingMin(period).update, low), talib.MIN(low, period), True)


@pytest.mark.parametrize("period", [1, 14, 30])
def test_atr_equals_talib(sample: Data, period: int) -> None:
    high, low, close, _ = cols(sample)
    same(run(Atr(period).update, high, low, close), talib.ATR(high, low, close, period))


@pytest.mark.parametrize(("k", "d"), [(14, 3), (5, 1), (30, 5)])
def test_stochastic_equals_talib_stochf(sample: Data, k: int, d: int) -> None:
    high, low, close, _ = cols(sample)
    fast_k, fast_d = talib.STOCHF(high, low, close, k, d, 0)
    assert (talib.MAX(high, k) > talib.MIN(low, k))[k - 1 :].all()  # no flat window (50 vs 0)
    ours = Stochastic(k, d)
    same(run(ours.update, high, low, close), fast_d)
    ours = Stochastic(k, d)
    ks = run(lambda *bar, s=ours: None if s.update(*bar) is None else s.k, high, low, close)
    same(ks, np.where(np.isnan(fast_d), np.nan, fast_k))


@pytest.mark.parametrize("period", [2, 14, 28])
def test_adx_and_di_equal_talib(sample: Data, period: int) -> None:
    high, low, close, _ = cols(sample)
    same(run(Adx(period).update, high, low, close), talib.ADX(high, low, close, period))
    adx = Adx(period)
    plus, minus = [], []
    for bar in zip(high, low, close, strict=True):
        adx.update(*bar)
        plus.append(math.nan if adx.plus_di is None else adx.plus_di)
        minus.append(math.nan if adx.minus_di is None else adx.minus_di)
    same(np.array(plus), talib.PLUS_DI(high, low, close, period))
    same(np.array(minus), talib.MINUS_DI(high, low, close, period))


def test_vwap_equals_a_library_formula(sample: Data) -> None:
    # TA-Lib has no rolling VWAP: the same sums through TA-Lib's SUM.
    high, low, close, volume = cols(sample)
    typical = talib.TYPPRICE(high, low, close)
    expected = talib.SUM(typical * volume, 20) / talib.SUM(volume, 20)
    same(run(Vwap(20).update, high, low, close, volume), expected)


def test_vectorised_arrays_equal_talib(sample: Data) -> None:
    _, _, close, _ = cols(sample)
    same(sma_array(close, 30), talib.SMA(close, 30))
    same(ema_array(close, 26), talib.EMA(close, 26))
    same(rsi_array(close, 14), talib.RSI(close, 14))
    # TA-Lib seeds MACD's fast EMA where the slow one starts; ours seeds each EMA on its own
    # first values, so the two meet once the seeds have decayed (a few hundred bars).
    ours = macd_array(close, 12, 26, 9)
    lib = talib.MACD(close, 12, 26, 9)
    for a, b in zip(ours, lib, strict=True):
        np.testing.assert_allclose(a[500:], b[500:], rtol=1e-6, atol=1e-6)
