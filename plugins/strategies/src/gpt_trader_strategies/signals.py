"""Long-only crossing signals: SMA cross, EMA cross, RSI reversion, MACD cross.

Every signal here follows the same contract:

- It belongs to one symbol and ignores events of other symbols and anything that is not a
  :class:`~gpt_trader.domain.market.Candle`. Candles must be closed bars, in order; a candle
  whose ``ts`` is not after the last one seen (a duplicate or a late bar) is ignored.
- It acts on the bar's close: the value ``update(candle)`` returns for bar *i* is the
  decision at bar *i*'s close, stamped ``ts = candle.close_ts``.
- It emits only when its view changes: a crossing event (defined per class) gives LONG or
  FLAT, and is emitted only if it differs from the last action emitted, so the sequence of
  emissions alternates. Otherwise ``update`` returns ``None`` (the kernel keeps the latest
  value). Nothing is emitted on the first bar where both sides of a comparison exist.
- ``compute(bars)`` returns, for a whole :class:`~gpt_trader.domain.bars.BarSeries`, exactly
  what feeding its candles to a *fresh* instance's ``update`` would emit (``Action`` values,
  ``NO_SIGNAL`` where ``update`` returns ``None``). It does not touch the instance's
  incremental state. Floats in ``bars.close`` must be the candles' closes as floats
  (``float(Decimal(text)) == float(text)``, so either way of reading a file agrees).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Self

from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import Candle, MarketEvent

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
from gpt_trader_strategies.params import (
    EmaCrossParams,
    MacdCrossParams,
    RsiReversionParams,
    SmaCrossParams,
)

__all__ = [
    "EmaCross",
    "EmaCrossParams",
    "MacdCross",
    "MacdCrossParams",
    "RsiReversion",
    "RsiReversionParams",
    "SmaCross",
    "SmaCrossParams",
]

if TYPE_CHECKING:
    # numpy loads only when an array is computed, not when the plugin is discovered.
    import numpy as np
    import numpy.typing as npt

    from gpt_trader_strategies.indicators import FloatArray

    BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------------------


def _fresh_mask(ts: list[int]) -> BoolArray | None:
    """Which bars ``update`` would accept (``ts`` after every earlier one); ``None`` if all."""
    import numpy as np

    if len(ts) < 2:
        return None
    arr = np.asarray(ts, dtype=np.int64)
    if bool(np.all(arr[1:] > arr[:-1])):
        return None
    keep = np.ones(arr.shape[0], dtype=np.bool_)
    keep[1:] = arr[1:] > np.maximum.accumulate(arr)[:-1]
    return keep


def _line_crossings(a: FloatArray, b: FloatArray) -> tuple[BoolArray, BoolArray]:
    """Bars where ``a`` crosses above / below ``b`` (both defined now and at the bar before)."""
    import numpy as np

    n = a.shape[0]
    up = np.zeros(n, dtype=np.bool_)
    down = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return up, down
    valid = ~(np.isnan(a) | np.isnan(b))
    cmp = (a > b).astype(np.int8) - (a < b).astype(np.int8)
    both = valid[1:] & valid[:-1]
    now, before = cmp[1:], cmp[:-1]
    up[1:] = both & (now == 1) & (before <= 0)
    down[1:] = both & (now == -1) & (before >= 0)
    return up, down


class _CrossingSignal(ABC):
    """Per-symbol, long-only signal: LONG / FLAT on crossing events, emitted on change."""

    default_name: ClassVar[str]

    def __init__(self, symbol: str, name: str) -> None:
        if not symbol:
            raise ValueError(f"{name}: a per-symbol signal needs a symbol")
        self.symbol = symbol
        self.name = name
        self._last_ts: int | None = None
        self._view: Action | None = None

    @property
    def view(self) -> Action | None:
        """The last action emitted (``None`` before the first emission)."""
        return self._view

    def update(self, event: MarketEvent) -> SignalValue | None:
        if not isinstance(event, Candle) or event.symbol != self.symbol:
            return None
        ts = event.ts
        if self._last_ts is not None and ts <= self._last_ts:
            return None
        self._last_ts = ts
        action = self._step(float(event.close))
        if action is None or action is self._view:
            return None
        self._view = action
        # Exactly what the replay driver builds from compute(): same name, ts and action,
        # default strength and no reason text, so both paths record identical votes.
        return SignalValue(self.name, self.symbol, event.close_ts, action)

    def compute(self, bars: BarSeries) -> list[int]:
        import numpy as np

        n = len(bars)
        out = np.full(n, NO_SIGNAL, dtype=np.int8)
        if n == 0 or bars.symbol != self.symbol:
            return out.tolist()
        close = np.asarray(bars.close, dtype=np.float64)
        keep = _fresh_mask(bars.ts)
        if keep is not None:
            close = close[keep]
        up, down = self._crossings(close)
        events = np.flatnonzero(up | down)
        if events.shape[0]:
            actions = np.where(up[events], int(Action.LONG), int(Action.FLAT)).astype(np.int8)
            changed = np.ones(events.shape[0], dtype=np.bool_)
            # Two possible actions: "differs from the last emitted" == "differs from the
            # previous crossing event".
            changed[1:] = actions[1:] != actions[:-1]
            events, actions = events[changed], actions[changed]
            if keep is not None:
                events = np.flatnonzero(keep)[events]
            out[events] = actions
        return out.tolist()

    @abstractmethod
    def _step(self, close: float) -> Action | None:
        """Feed one close; return LONG / FLAT on a crossing event at this bar, else None."""

    @abstractmethod
    def _crossings(self, close: FloatArray) -> tuple[BoolArray, BoolArray]:
        """Vectorised ``_step``: boolean arrays of LONG and FLAT crossing events."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.symbol!r}, name={self.name!r})"


class _TwoLineCross(_CrossingSignal):
    """LONG when line ``a`` crosses above ``b`` (a > b now, a <= b at the previous bar),
    FLAT when it crosses below (a < b now, a >= b at the previous bar)."""

    def __init__(self, symbol: str, name: str) -> None:
        super().__init__(symbol, name)
        self._prev_cmp: int | None = None

    def _cross(self, a: float | None, b: float | None) -> Action | None:
        if a is None or b is None:
            self._prev_cmp = None
            return None
        cmp = (a > b) - (a < b)
        prev = self._prev_cmp
        self._prev_cmp = cmp
        if prev is None:
            return None
        if cmp == 1 and prev <= 0:
            return Action.LONG
        if cmp == -1 and prev >= 0:
            return Action.FLAT
        return None


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------


class SmaCross(_TwoLineCross):
    """Fast SMA of closes crossing the slow SMA: above -> LONG, below -> FLAT."""

    default_name = "sma_cross"

    def __init__(
        self, symbol: str, fast: int = 10, slow: int = 30, *, name: str | None = None
    ) -> None:
        p = SmaCrossParams(fast=fast, slow=slow)
        super().__init__(symbol, name or self.default_name)
        self.fast, self.slow = p.fast, p.slow
        self._fast_ma = Sma(p.fast)
        self._slow_ma = Sma(p.slow)

    @classmethod
    def from_params(cls, params: SmaCrossParams, symbol: str) -> Self:
        return cls(symbol, params.fast, params.slow, name=params.name)

    def _step(self, close: float) -> Action | None:
        return self._cross(self._fast_ma.update(close), self._slow_ma.update(close))

    def _crossings(self, close: FloatArray) -> tuple[BoolArray, BoolArray]:
        return _line_crossings(sma_array(close, self.fast), sma_array(close, self.slow))


class EmaCross(_TwoLineCross):
    """Fast EMA of closes crossing the slow EMA: above -> LONG, below -> FLAT."""

    default_name = "ema_cross"

    def __init__(
        self, symbol: str, fast: int = 12, slow: int = 26, *, name: str | None = None
    ) -> None:
        p = EmaCrossParams(fast=fast, slow=slow)
        super().__init__(symbol, name or self.default_name)
        self.fast, self.slow = p.fast, p.slow
        self._fast_ma = Ema(p.fast)
        self._slow_ma = Ema(p.slow)

    @classmethod
    def from_params(cls, params: EmaCrossParams, symbol: str) -> Self:
        return cls(symbol, params.fast, params.slow, name=params.name)

    def _step(self, close: float) -> Action | None:
        return self._cross(self._fast_ma.update(close), self._slow_ma.update(close))

    def _crossings(self, close: FloatArray) -> tuple[BoolArray, BoolArray]:
        return _line_crossings(ema_array(close, self.fast), ema_array(close, self.slow))


class MacdCross(_TwoLineCross):
    """MACD line crossing its signal line: above -> LONG, below -> FLAT."""

    default_name = "macd_cross"

    def __init__(
        self,
        symbol: str,
        fast: int = 12,
        slow: int = 26,
        signal: int = 9,
        *,
        name: str | None = None,
    ) -> None:
        p = MacdCrossParams(fast=fast, slow=slow, signal=signal)
        super().__init__(symbol, name or self.default_name)
        self.fast, self.slow, self.signal = p.fast, p.slow, p.signal
        self._macd = Macd(p.fast, p.slow, p.signal)

    @classmethod
    def from_params(cls, params: MacdCrossParams, symbol: str) -> Self:
        return cls(symbol, params.fast, params.slow, params.signal, name=params.name)

    def _step(self, close: float) -> Action | None:
        macd = self._macd
        if macd.update(close) is None:
            return self._cross(None, None)
        return self._cross(macd.line, macd.signal)

    def _crossings(self, close: FloatArray) -> tuple[BoolArray, BoolArray]:
        line, signal, _ = macd_array(close, self.fast, self.slow, self.signal)
        return _line_crossings(line, signal)


class RsiReversion(_CrossingSignal):
    """Mean reversion on Wilder's RSI: LONG when it crosses up through ``oversold``
    (RSI > oversold now, <= oversold at the previous bar), FLAT when it crosses down through
    ``overbought`` (RSI < overbought now, >= overbought at the previous bar)."""

    default_name = "rsi"

    def __init__(
        self,
        symbol: str,
        period: int = 14,
        oversold: float = 30.0,
        overbought: float = 70.0,
        *,
        name: str | None = None,
    ) -> None:
        p = RsiReversionParams(period=period, oversold=oversold, overbought=overbought)
        super().__init__(symbol, name or self.default_name)
        self.period, self.oversold, self.overbought = p.period, p.oversold, p.overbought
        self._rsi = Rsi(p.period)
        self._prev: float | None = None

    @classmethod
    def from_params(cls, params: RsiReversionParams, symbol: str) -> Self:
        return cls(symbol, params.period, params.oversold, params.overbought, name=params.name)

    def _step(self, close: float) -> Action | None:
        value = self._rsi.update(close)
        prev = self._prev
        self._prev = value
        if value is None or prev is None:
            return None
        if value > self.oversold and prev <= self.oversold:
            return Action.LONG
        if value < self.overbought and prev >= self.overbought:
            return Action.FLAT
        return None

    def _crossings(self, close: FloatArray) -> tuple[BoolArray, BoolArray]:
        import numpy as np

        rsi = rsi_array(close, self.period)
        n = rsi.shape[0]
        up = np.zeros(n, dtype=np.bool_)
        down = np.zeros(n, dtype=np.bool_)
        if n >= 2:
            now, before = rsi[1:], rsi[:-1]  # NaN compares False: no event in warm-up
            up[1:] = (now > self.oversold) & (before <= self.oversold)
            down[1:] = (now < self.overbought) & (before >= self.overbought)
        return up, down
