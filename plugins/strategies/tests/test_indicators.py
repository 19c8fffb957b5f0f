"""Indicator values on hand-computed cases, and incremental == vectorised bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pytest
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.market import Candle
from gpt_trader_strategies.indicators import (
    Ema,
    Macd,
    Rsi,
    Sma,
    ema_array,
    macd_array,
    rsi_array,
    sma_array,
)

Data = tuple[BarSeries, list[Candle]]

if TYPE_CHECKING:
    from gpt_trader_strategies.indicators import FloatArray


def feed(indicator: Sma | Ema | Rsi | Macd, values: Sequence[float]) -> list[float | None]:
    return [indicator.update(v) for v in values]


def as_nan(values: Sequence[float | None]) -> FloatArray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


# -- reference implementations in exact rational arithmetic (textbook definitions) --------


def ref_ema(values: Sequence[Fraction], period: int) -> list[Fraction | None]:
    alpha = Fraction(2, period + 1)
    out: list[Fraction | None] = [None] * len(values)
    if len(values) < period:
        return out
    ema = sum(values[:period], Fraction(0)) / period
    out[period - 1] = ema
    for i in range(period, len(values)):
        ema = alpha * values[i] + (1 - alpha) * ema
        out[i] = ema
    return out


def ref_rsi(values: Sequence[Fraction], period: int) -> list[Fraction | None]:
    out: list[Fraction | None] = [None] * len(values)
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    gains = [max(c, Fraction(0)) for c in changes]
    losses = [max(-c, Fraction(0)) for c in changes]
    if len(changes) < period:
        return out
    ag = sum(gains[:period], Fraction(0)) / period
    al = sum(losses[:period], Fraction(0)) / period

    def rsi(g: Fraction, lo: Fraction) -> Fraction:
        return Fraction(50) if g + lo == 0 else 100 - 100 / (1 + g / lo) if lo else Fraction(100)

    out[period] = rsi(ag, al)
    for i in range(period, len(changes)):
        ag = (ag * (period - 1) + gains[i]) / period
        al = (al * (period - 1) + losses[i]) / period
        out[i + 1] = rsi(ag, al)
    return out


def close_to(got: Sequence[float | None], want: Sequence[Fraction | None]) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if (g is None) != (w is None):
            return False
        if g is not None and w is not None and g != pytest.approx(float(w), rel=1e-12, abs=1e-12):
            return False
    return True


PRICES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
          45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45,
          45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]  # fmt: skip


# -- hand-computed small cases -------------------------------------------------------------


def test_sma_hand_computed() -> None:
    assert feed(Sma(3), [1, 2, 3, 4, 5, 9]) == [None, None, 2.0, 3.0, 4.0, 6.0]
    assert feed(Sma(1), [5, 7]) == [5.0, 7.0]
    assert Sma(3).update(1.0) is None


def test_ema_hand_computed() -> None:
    # alpha = 0.5, seeded with the SMA of the first three: (2 + 4 + 6) / 3 = 4
    assert feed(Ema(3), [2, 4, 6, 8, 4]) == [None, None, 4.0, 6.0, 5.0]
    assert feed(Ema(1), [3, 5]) == [3.0, 5.0]


def test_rsi_hand_computed() -> None:
    # changes +1, +1, -1 -> gains 2/3, losses 1/3 -> RSI 66.67; then +1: (2/3*2+1)/3 = 7/9,
    # (1/3*2)/3 = 2/9 -> 77.78; then +1: 23/27 and 4/27 -> 85.19
    got = feed(Rsi(3), [1, 2, 3, 2, 3, 4])
    assert got[:3] == [None, None, None]
    assert got[3:] == pytest.approx([200 / 3, 700 / 9, 2300 / 27], rel=1e-12)
    assert feed(Rsi(2), [1, 2, 3, 4]) == [None, None, 100.0, 100.0]  # no losses
    assert feed(Rsi(2), [4, 3, 2, 1]) == [None, None, 0.0, 0.0]  # no gains
    assert feed(Rsi(2), [5, 5, 5]) == [None, None, 50.0]  # flat


def test_macd_hand_computed() -> None:
    # fast EMA(2) (alpha 2/3), slow EMA(3) (alpha 1/2), signal EMA(2) of the line
    m = Macd(2, 3, 2)
    out = feed(m, [1, 3, 2, 6])
    # EMA2: -, 2, 2 + 2/3*(2-2) = 2, 2 + 2/3*4 = 14/3; EMA3: -, -, 2, 4
    # line: -, -, 0, 2/3; signal seeded with mean(0, 2/3) = 1/3 at bar 3; hist 1/3
    assert out[:3] == [None, None, None]
    assert out[3] == pytest.approx(1 / 3, rel=1e-12)
    assert m.line == pytest.approx(2 / 3, rel=1e-12)
    assert m.signal == pytest.approx(1 / 3, rel=1e-12)
    line, signal, hist = macd_array([1, 3, 2, 6], 2, 3, 2)
    assert np.isnan(line[:2]).all()
    assert line[2] == 0.0
    assert np.isnan(signal[:3]).all()
    assert np.isnan(hist[:3]).all()


def test_ema_and_rsi_against_exact_reference() -> None:
    exact = [Fraction(str(p)) for p in PRICES]
    for period in (1, 2, 5, 14):
        assert close_to(feed(Ema(period), PRICES), ref_ema(exact, period))
        assert close_to(feed(Rsi(period), PRICES), ref_rsi(exact, period))
    # Wilder's own worked example: RSI(14) of this series starts near 70.5
    first = Rsi(14)
    values = [v for v in feed(first, PRICES) if v is not None]
    assert values[0] == pytest.approx(70.46, abs=0.01)


def test_macd_against_exact_reference() -> None:
    exact = [Fraction(str(p)) for p in PRICES]
    fast, slow = ref_ema(exact, 5), ref_ema(exact, 10)
    line = [None if s is None else f - s for f, s in zip(fast, slow, strict=True)]  # type: ignore[operator]
    start = 9
    signal = [None] * start + ref_ema([v for v in line[start:] if v is not None], 4)
    hist = [None if s is None else v - s for v, s in zip(line, signal, strict=True)]  # type: ignore[operator]
    assert close_to(feed(Macd(5, 10, 4), PRICES), hist)


def test_warmup_shorter_than_period() -> None:
    assert np.isnan(sma_array([1.0, 2.0], 3)).all()
    assert np.isnan(ema_array([1.0, 2.0], 3)).all()
    assert np.isnan(rsi_array([1.0, 2.0, 3.0], 3)).all()
    assert all(np.isnan(a).all() for a in macd_array([1.0] * 5, 3, 6, 2))
    assert sma_array([], 3).shape == (0,)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_periods_raise(bad: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        Sma(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        sma_array([1.0], bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be less than slow"):
        Macd(26, 12)


# -- incremental == vectorised, exactly ------------------------------------------------------

INDICATORS: dict[
    str, tuple[Callable[[int], Sma | Ema | Rsi], Callable[[FloatArray, int], FloatArray]]
] = {
    "sma": (Sma, sma_array),
    "ema": (Ema, ema_array),
    "rsi": (Rsi, rsi_array),
}


@pytest.mark.parametrize("period", [1, 2, 9, 14, 30, 200])
@pytest.mark.parametrize("kind", list(INDICATORS))
def test_incremental_equals_vectorised_on_real_data(sample: Data, kind: str, period: int) -> None:
    make, vector = INDICATORS[kind]
    closes = sample[0].close
    incremental = as_nan(feed(make(period), closes))
    vectorised = vector(np.asarray(closes), period)
    assert np.array_equal(incremental, vectorised, equal_nan=True)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (3, 7, 2), (1, 2, 1)])
def test_macd_incremental_equals_vectorised(
    sample: Data, fast: int, slow: int, signal: int
) -> None:
    closes = sample[0].close
    m = Macd(fast, slow, signal)
    lines: list[float | None] = []
    signals: list[float | None] = []
    hists: list[float | None] = []
    for c in closes:
        hists.append(m.update(c))
        lines.append(m.line)
        signals.append(m.signal if hists[-1] is not None else None)
    line, sig, hist = macd_array(closes, fast, slow, signal)
    assert np.array_equal(as_nan(hists), hist, equal_nan=True)
    assert np.array_equal(as_nan(signals), sig, equal_nan=True)
    assert np.array_equal(as_nan(lines), line, equal_nan=True)
    assert int(np.isnan(hist).sum()) == slow + signal - 2


def test_sma_running_sum_drift_is_negligible(sample: Data) -> None:
    closes = sample[0].close
    got = sma_array(closes, 30)
    exact = [sum(map(Fraction, closes[i - 29 : i + 1])) / 30 for i in range(29, len(closes))]
    worst = max(abs(g - float(e)) for g, e in zip(got[29:], exact, strict=True))
    assert worst < 1e-6  # prices ~1e5; the running sum stays within a few ulps of the sum
