"""Technical indicators, incremental and vectorised, giving bit-identical floats.

Each indicator comes twice: a small class whose ``update(x)`` costs O(1) per value and
returns ``None`` until it is warmed up, and an ``*_array`` function over a whole series that
returns ``NaN`` at exactly the positions where the class returns ``None``.

The two are written to perform the *same floating-point operations in the same order*, so
their outputs are equal bit for bit, not just close. That matters: a cross signal compares two
indicators, and a one-ulp difference at a near-tie would make the replay driver's vectorised
path and the live incremental path disagree about a trade.

- SMA keeps a running sum updated as ``sum += x_new - x_old``; ``sma_array`` builds the
  same per-step increments and accumulates them with ``np.cumsum``, which adds sequentially
  (a running sum drifts by a few ulps over a long series; both paths drift identically).
- EMA, RSI and MACD are recursive, so their "vectorised" forms run the recurrence in one
  tight loop over a plain list of floats. That is exact and still an order of magnitude
  faster than feeding events one by one.

The bar indicators further down (mean/deviation, rolling extremes, ATR, stochastic, ADX,
VWAP) come only as O(1) classes: the signals built on them replay a fresh instance over the
columns, which is exact by construction. Their values follow TA-Lib's conventions (the
tests hold them to TA-Lib on the shipped data).

Floats are for indicator maths only; nothing here handles money.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    # numpy loads only when an array is computed, not when the plugin is discovered.
    import numpy as np
    import numpy.typing as npt

    FloatArray: TypeAlias = npt.NDArray[np.float64]
    ArrayLike: TypeAlias = Sequence[float] | FloatArray

__all__ = [
    "Adx",
    "Atr",
    "Ema",
    "Macd",
    "MeanStd",
    "RollingMax",
    "RollingMin",
    "Rsi",
    "Sma",
    "Stochastic",
    "Vwap",
    "ema_array",
    "macd_array",
    "rsi_array",
    "sma_array",
]

NAN = math.nan


def _check_period(period: int, name: str = "period") -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise ValueError(f"{name} must be a positive integer, got {period!r}")
    return period


def _as_array(values: ArrayLike) -> FloatArray:
    import numpy as np

    return np.ascontiguousarray(values, dtype=np.float64)


# --------------------------------------------------------------------------------------
# SMA
# --------------------------------------------------------------------------------------


class Sma:
    """Simple moving average over the last ``period`` values (ring buffer + running sum)."""

    __slots__ = ("_buf", "_count", "_pos", "_sum", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self._buf: list[float] = [0.0] * period
        self._pos = 0
        self._count = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        period = self.period
        if self._count < period:
            self._buf[self._count] = x
            self._sum += x
            self._count += 1
            if self._count < period:
                return None
        else:
            pos = self._pos
            old = self._buf[pos]
            self._buf[pos] = x
            self._pos = pos + 1 if pos + 1 < period else 0
            self._sum += x - old
        self.value = self._sum / period
        return self.value


def sma_array(values: ArrayLike, period: int) -> FloatArray:
    """SMA of ``values``; ``NaN`` for the first ``period - 1`` positions. Equal to :class:`Sma`."""
    import numpy as np

    _check_period(period)
    x = _as_array(values)
    out = np.full(x.shape[0], NAN)
    if x.shape[0] < period:
        return out
    steps = np.empty_like(x)
    steps[:period] = x[:period]
    np.subtract(x[period:], x[:-period], out=steps[period:])
    sums = np.cumsum(steps)  # sequential accumulation, same order as Sma's running sum
    out[period - 1 :] = sums[period - 1 :] / period
    return out


# --------------------------------------------------------------------------------------
# EMA
# --------------------------------------------------------------------------------------


class Ema:
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded with the SMA of the
    first ``period`` values (the TA-Lib convention), so the first value comes at the
    ``period``-th input."""

    __slots__ = ("_count", "_sum", "alpha", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self.alpha = 2.0 / (period + 1)
        self._count = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        prev = self.value
        if prev is None:
            self._sum += x
            self._count += 1
            if self._count < self.period:
                return None
            self.value = self._sum / self.period
        else:
            self.value = prev + self.alpha * (x - prev)
        return self.value


def _ema_list(x: list[float], period: int) -> list[float]:
    """EMA of a list of floats (no NaNs), the exact recurrence of :class:`Ema`."""
    n = len(x)
    out = [NAN] * n
    if n < period:
        return out
    alpha = 2.0 / (period + 1)
    total = 0.0
    for i in range(period):
        total += x[i]
    prev = total / period
    out[period - 1] = prev
    for i in range(period, n):
        prev = prev + alpha * (x[i] - prev)
        out[i] = prev
    return out


def ema_array(values: ArrayLike, period: int) -> FloatArray:
    """EMA of ``values``; ``NaN`` for the first ``period - 1`` positions. Equal to :class:`Ema`."""
    import numpy as np

    _check_period(period)
    x = _as_array(values)
    return np.array(_ema_list(x.tolist(), period), dtype=np.float64)


# --------------------------------------------------------------------------------------
# RSI (Wilder)
# --------------------------------------------------------------------------------------


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    # Equal to 100 - 100 / (1 + gain / loss) but defined when loss is 0 (-> 100);
    # a flat window (no gain, no loss) reads 50.
    total = avg_gain + avg_loss
    return 100.0 * avg_gain / total if total > 0.0 else 50.0


class Rsi:
    """Wilder's RSI. The first value needs ``period + 1`` inputs (``period`` changes):
    average gain/loss start as plain means, then ``avg = (avg * (period - 1) + x) / period``.
    """

    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_prev", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self._prev: float | None = None
        self._count = 0  # number of changes seen, up to ``period``
        self._avg_gain = 0.0  # a sum while warming up, the average afterwards
        self._avg_loss = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        prev = self._prev
        self._prev = x
        if prev is None:
            return None
        change = x - prev
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        period = self.period
        if self._count < period:
            self._avg_gain += gain
            self._avg_loss += loss
            self._count += 1
            if self._count < period:
                return None
            self._avg_gain /= period
            self._avg_loss /= period
        else:
            self._avg_gain = (self._avg_gain * (period - 1) + gain) / period
            self._avg_loss = (self._avg_loss * (period - 1) + loss) / period
        self.value = _rsi_value(self._avg_gain, self._avg_loss)
        return self.value


def rsi_array(values: ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's RSI of ``values``; ``NaN`` for the first ``period`` positions. Equal to
    :class:`Rsi`."""
    import numpy as np

    _check_period(period)
    x = _as_array(values).tolist()
    n = len(x)
    out = [NAN] * n
    if n <= period:
        return np.array(out, dtype=np.float64)
    sum_gain = 0.0
    sum_loss = 0.0
    for i in range(1, period + 1):
        change = x[i] - x[i - 1]
        sum_gain += change if change > 0.0 else 0.0
        sum_loss += -change if change < 0.0 else 0.0
    avg_gain = sum_gain / period
    avg_loss = sum_loss / period
    out[period] = _rsi_value(avg_gain, avg_loss)
    keep = period - 1
    for i in range(period + 1, n):
        change = x[i] - x[i - 1]
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        avg_gain = (avg_gain * keep + gain) / period
        avg_loss = (avg_loss * keep + loss) / period
        out[i] = _rsi_value(avg_gain, avg_loss)
    return np.array(out, dtype=np.float64)


# --------------------------------------------------------------------------------------
# MACD
# --------------------------------------------------------------------------------------


class Macd:
    """MACD: ``line = EMA(fast) - EMA(slow)``, ``signal = EMA(signal)`` of the line,
    ``histogram = line - signal``.

    ``update`` returns the histogram once the signal line exists (after
    ``slow + signal - 1`` inputs), else ``None``; ``line`` and ``signal`` hold the latest
    values (``line`` is available earlier, from the ``slow``-th input).
    """

    __slots__ = ("_fast", "_signal", "_slow", "histogram", "line", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        _check_period(fast, "fast")
        _check_period(slow, "slow")
        _check_period(signal, "signal")
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be less than slow ({slow})")
        self._fast = Ema(fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self.line: float | None = None
        self.signal: float | None = None
        self.histogram: float | None = None

    @property
    def periods(self) -> tuple[int, int, int]:
        return self._fast.period, self._slow.period, self._signal.period

    def update(self, x: float) -> float | None:
        fast = self._fast.update(x)
        slow = self._slow.update(x)
        if fast is None or slow is None:
            return None
        line = fast - slow
        self.line = line
        signal = self._signal.update(line)
        if signal is None:
            return None
        self.signal = signal
        self.histogram = line - signal
        return self.histogram


def macd_array(
    values: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(line, signal, histogram)`` arrays, ``NaN`` where :class:`Macd` has no value yet.

    ``line`` starts at position ``slow - 1``; ``signal`` and ``histogram`` at
    ``slow + signal - 2``. Equal to :class:`Macd` bit for bit.
    """
    import numpy as np

    _check_period(fast, "fast")
    _check_period(slow, "slow")
    _check_period(signal, "signal")
    if fast >= slow:
        raise ValueError(f"fast ({fast}) must be less than slow ({slow})")
    x = _as_array(values).tolist()
    n = len(x)
    line = np.full(n, NAN)
    sig = np.full(n, NAN)
    if n < slow:
        return line, sig, sig.copy()
    fast_ema = _ema_list(x, fast)
    slow_ema = _ema_list(x, slow)
    start = slow - 1
    line_values = [fast_ema[i] - slow_ema[i] for i in range(start, n)]
    line[start:] = line_values
    sig[start:] = _ema_list(line_values, signal)
    return line, sig, line - sig


# --------------------------------------------------------------------------------------
# Bar indicators (O(1) classes only)
# --------------------------------------------------------------------------------------


class MeanStd:
    """Mean and population standard deviation of the last ``period`` values (TA-Lib's
    BBANDS middle band and STDDEV).

    Running sums of ``x - shift`` and its square, with ``shift`` near the window's mean, so
    squaring a price does not cancel away the variance; once per ``period`` values the sums
    are recomputed from the window (amortised O(1)), so rounding cannot drift. A standard
    deviation below ``1e-10`` of the mean reads 0: a flat window is flat.
    """

    __slots__ = ("_buf", "_count", "_pos", "_shift", "_sum", "_sumsq", "mean", "period", "std")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self._buf = [0.0] * period
        self._pos = 0
        self._count = 0
        self._shift: float | None = None
        self._sum = 0.0
        self._sumsq = 0.0
        self.mean: float | None = None
        self.std: float | None = None

    def update(self, x: float) -> float | None:
        """Feed one value; return the standard deviation once ``period`` values are in."""
        period = self.period
        if self._shift is None:
            self._shift = x
        shift = self._shift
        d = x - shift
        if self._count < period:
            self._buf[self._count] = x
            self._count += 1
            self._sum += d
            self._sumsq += d * d
            if self._count < period:
                return None
        else:
            pos = self._pos
            old = self._buf[pos] - shift
            self._buf[pos] = x
            self._pos = pos + 1 if pos + 1 < period else 0
            self._sum += d - old
            self._sumsq += d * d - old * old
        if self._pos == 0:
            self._resum()
        mean_d = self._sum / period
        self.mean = self._shift + mean_d
        var = self._sumsq / period - mean_d * mean_d
        tiny = 1e-10 * self.mean
        self.std = math.sqrt(var) if var > tiny * tiny else 0.0
        return self.std

    def _resum(self) -> None:
        window = self._buf
        shift = self._shift = math.fsum(window) / self.period
        self._sum = math.fsum(x - shift for x in window)
        self._sumsq = math.fsum((x - shift) * (x - shift) for x in window)


class _RollingExtreme:
    """Extreme of the last ``period`` values: a monotonic deque, amortised O(1)."""

    __slots__ = ("_count", "_window", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period(period)
        self._window: deque[tuple[int, float]] = deque()
        self._count = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        window = self._window
        while window and not self._keep(window[-1][1], x):
            window.pop()
        window.append((self._count, x))
        self._count += 1
        if window[0][0] <= self._count - 1 - self.period:
            window.popleft()
        if self._count < self.period:
            return None
        self.value = window[0][1]
        return self.value

    @staticmethod
    def _keep(older: float, newer: float) -> bool:
        raise NotImplementedError


class RollingMax(_RollingExtreme):
    """Highest of the last ``period`` values (TA-Lib MAX)."""

    @staticmethod
    def _keep(older: float, newer: float) -> bool:
        return older > newer


class RollingMin(_RollingExtreme):
    """Lowest of the last ``period`` values (TA-Lib MIN)."""

    @staticmethod
    def _keep(older: float, newer: float) -> bool:
        return older < newer


def _true_range(high: float, low: float, prev_close: float) -> float:
    return max(high - low, abs(high - prev_close), abs(low - prev_close))


class Atr:
    """Wilder's average true range (TA-Lib ATR): the first value, at the ``period + 1``-th
    bar, is the mean of ``period`` true ranges; then ``(atr * (period - 1) + tr) / period``."""

    __slots__ = ("_count", "_prev_close", "_sum", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self._prev_close: float | None = None
        self._count = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev = self._prev_close
        self._prev_close = close
        if prev is None:
            return None
        tr = _true_range(high, low, prev)
        period = self.period
        if self.value is None:
            self._sum += tr
            self._count += 1
            if self._count < period:
                return None
            self.value = self._sum / period
        else:
            self.value = (self.value * (period - 1) + tr) / period
        return self.value


class Stochastic:
    """Fast stochastic (TA-Lib STOCHF with an SMA %D): ``%K = 100 * (close - lowest low) /
    (highest high - lowest low)`` over ``k_period`` bars, ``%D`` = SMA of %K over
    ``d_period``. A window with no range reads 50 (TA-Lib reads 0)."""

    __slots__ = ("_d", "_high", "_low", "d", "k")

    def __init__(self, k_period: int = 14, d_period: int = 3) -> None:
        self._high = RollingMax(k_period)
        self._low = RollingMin(k_period)
        self._d = Sma(_check_period(d_period, "d_period"))
        self.k: float | None = None
        self.d: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        """Feed one bar; return %D once it exists (``k`` holds the latest %K)."""
        hh = self._high.update(high)
        ll = self._low.update(low)
        if hh is None or ll is None:
            return None
        span = hh - ll
        self.k = 100.0 * (close - ll) / span if span > 0.0 else 50.0
        self.d = self._d.update(self.k)
        return self.d


class Adx:
    """Wilder's ADX with +DI / -DI, TA-Lib's recurrences: the directional movements and
    the true range are summed over ``period - 1`` bars, then smoothed as
    ``s - s / period + x``; DI values come from the ``period + 1``-th bar, ADX (the mean of
    ``period`` DX values, then Wilder-smoothed) from the ``2 * period``-th."""

    __slots__ = (
        "_bars",
        "_dx_count",
        "_dx_sum",
        "_minus_dm",
        "_plus_dm",
        "_prev",
        "_tr",
        "minus_di",
        "period",
        "plus_di",
        "value",
    )

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period(period)
        self._prev: tuple[float, float, float] | None = None
        self._bars = 0  # bars after the first
        self._plus_dm = self._minus_dm = self._tr = 0.0
        self._dx_sum = 0.0
        self._dx_count = 0
        self.plus_di: float | None = None
        self.minus_di: float | None = None
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev = self._prev
        self._prev = (high, low, close)
        if prev is None:
            return None
        prev_high, prev_low, prev_close = prev
        up, down = high - prev_high, prev_low - low
        plus = up if up > 0.0 and up > down else 0.0
        minus = down if down > 0.0 and up < down else 0.0
        tr = _true_range(high, low, prev_close)
        period = self.period
        self._bars += 1
        if self._bars < period:
            self._plus_dm += plus
            self._minus_dm += minus
            self._tr += tr
            return None
        self._plus_dm = self._plus_dm - self._plus_dm / period + plus
        self._minus_dm = self._minus_dm - self._minus_dm / period + minus
        self._tr = self._tr - self._tr / period + tr
        if self._tr == 0.0:
            return self.value
        self.plus_di = 100.0 * (self._plus_dm / self._tr)
        self.minus_di = 100.0 * (self._minus_dm / self._tr)
        di_sum = self.plus_di + self.minus_di
        if di_sum == 0.0:
            return self.value
        dx = 100.0 * (abs(self.minus_di - self.plus_di) / di_sum)
        if self.value is None:
            self._dx_sum += dx
            self._dx_count += 1
            if self._dx_count < period:
                return None
            self.value = self._dx_sum / period
        else:
            self.value = (self.value * (period - 1) + dx) / period
        return self.value


class Vwap:
    """Volume-weighted average of the typical price ``(high + low + close) / 3`` over the
    last ``period`` bars; ``None`` while warming up or when the window traded nothing."""

    __slots__ = ("_buf", "_count", "_pos", "_pv", "_vol", "period", "value")

    def __init__(self, period: int = 20) -> None:
        self.period = _check_period(period)
        self._buf = [(0.0, 0.0)] * period
        self._pos = 0
        self._count = 0
        self._pv = 0.0
        self._vol = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float, volume: float) -> float | None:
        pv = (high + low + close) / 3.0 * volume
        old_pv, old_vol = self._buf[self._pos]
        self._buf[self._pos] = (pv, volume)
        self._pos = (self._pos + 1) % self.period
        self._count += 1
        self._pv += pv - old_pv
        self._vol += volume - old_vol
        if self._count < self.period or self._vol <= 0.0:
            return None
        self.value = self._pv / self._vol
        return self.value
