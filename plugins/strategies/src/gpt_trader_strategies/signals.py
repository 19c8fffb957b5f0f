"""The signals' shared contract (:class:`BarSignal`) and the crossing signals: SMA cross,
EMA cross, RSI reversion, MACD cross.

Every signal of this plugin follows the same contract:

- It belongs to one symbol and ignores events of other symbols and anything that is not a
  :class:`~gpt_trader.domain.market.Candle`. Candles must be closed bars, in order; a candle
  whose ``ts`` is not after the last one seen (a duplicate or a late bar) is ignored.
- It acts on the bar's close: the value ``update(candle)`` returns for bar *i* is the
  decision at bar *i*'s close, stamped ``ts = candle.close_ts``.
- It emits only when its view changes: an event (a crossing or a level, defined per class)
  gives LONG or FLAT with a strength in [0, 1] (also per class), and is emitted only if
  it differs from the last action emitted, so the sequence of emissions alternates. Otherwise ``update`` returns ``None`` (the kernel keeps the latest
  value). Nothing is emitted on the first bar where both sides of a comparison exist.
- ``compute(bars)`` returns, for a whole :class:`~gpt_trader.domain.bars.BarSeries`, exactly
  what feeding its candles to a *fresh* instance's ``update`` would emit (``Action`` values,
  ``NO_SIGNAL`` where ``update`` returns ``None``). It does not touch the instance's
  incremental state; ``compute_votes(bars)`` adds each emission's strength, which the
  replay driver puts in the votes it builds. Floats in ``bars`` must be the candles' closes as floats
  (``float(Decimal(text)) == float(text)``, so either way of reading a
  file agrees).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeAlias

from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import Candle, MarketEvent
from gpt_trader.params import Params

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
    "BarSignal",
    "Columns",
    "EmaCross",
    "EmaCrossParams",
    "MacdCross",
    "MacdCrossParams",
    "RsiReversion",
    "RsiReversionParams",
    "SmaCross",
    "SmaCrossParams",
    "Vote",
    "clamp01",
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


Vote: TypeAlias = tuple[Action, float]
"""An action and its strength in [0, 1]."""


@dataclass(frozen=True, slots=True)
class Columns:
    """The bars a vectorised signal reads, as float arrays (stale bars already dropped)."""

    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


class BarSignal(ABC):
    """Per-symbol, long-only signal: LONG / FLAT votes with a strength, emitted on change.

    Subclasses give ``_bar``, one closed bar's vote (or ``None``). ``compute_votes`` replays
    a fresh instance over the columns, exact by construction; a subclass may override
    ``_events`` with array maths that performs the same float operations.
    """

    default_name: ClassVar[str]
    params: Params

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

    @classmethod
    def from_params(cls, params: Any, symbol: str) -> Self:
        """Build from the signal's settings model (whose fields the constructor takes)."""
        return cls(symbol, **params.model_dump())

    def update(self, event: MarketEvent) -> SignalValue | None:
        if not isinstance(event, Candle) or event.symbol != self.symbol:
            return None
        ts = event.ts
        if self._last_ts is not None and ts <= self._last_ts:
            return None
        self._last_ts = ts
        vote = self._bar(
            float(event.high), float(event.low), float(event.close), float(event.volume)
        )
        if vote is None or vote[0] is self._view:
            return None
        self._view = vote[0]
        # Exactly what the replay driver builds from compute_votes(): same name, ts,
        # action and strength, and no reason text, so both paths record identical votes.
        return SignalValue(self.name, self.symbol, event.close_ts, vote[0], vote[1])

    def compute(self, bars: BarSeries) -> list[int]:
        return self.compute_votes(bars)[0]

    def compute_votes(self, bars: BarSeries) -> tuple[list[int], list[float]]:
        import numpy as np

        n = len(bars)
        out = np.full(n, NO_SIGNAL, dtype=np.int8)
        strength = np.ones(n, dtype=np.float64)
        if n == 0 or bars.symbol != self.symbol:
            return out.tolist(), strength.tolist()
        cols = [
            np.asarray(c, dtype=np.float64) for c in (bars.high, bars.low, bars.close, bars.volume)
        ]
        keep = _fresh_mask(bars.ts)
        if keep is not None:
            # A close-only series (no high/low/volume) still serves the close-only signals.
            cols = [c[keep] if c.shape[0] == n else c for c in cols]
        up, down, power = self._events(Columns(*cols))
        events = np.flatnonzero(up | down)
        if events.shape[0]:
            actions = np.where(up[events], int(Action.LONG), int(Action.FLAT)).astype(np.int8)
            changed = np.ones(events.shape[0], dtype=np.bool_)
            # Two possible actions: "differs from the last emitted" == "differs from the
            # previous event".
            changed[1:] = actions[1:] != actions[:-1]
            events, actions = events[changed], actions[changed]
            power = power[events]
            if keep is not None:
                events = np.flatnonzero(keep)[events]
            out[events] = actions
            strength[events] = power
        return out.tolist(), strength.tolist()

    @abstractmethod
    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        """Feed one closed bar; return the vote at its close, else None."""

    def _events(self, cols: Columns) -> tuple[BoolArray, BoolArray, FloatArray]:
        """LONG events, FLAT events and strengths over the columns (a fresh replay)."""
        import numpy as np

        n = cols.close.shape[0]
        if not cols.high.shape[0] == cols.low.shape[0] == cols.volume.shape[0] == n:
            raise ValueError(f"{self.name} needs high, low and volume columns besides close")
        up = np.zeros(n, dtype=np.bool_)
        down = np.zeros(n, dtype=np.bool_)
        power = np.ones(n, dtype=np.float64)
        fresh = type(self).from_params(self.params, self.symbol)
        columns = (cols.high, cols.low, cols.close, cols.volume)
        rows = zip(*(c.tolist() for c in columns), strict=True)
        for i, (high, low, close, volume) in enumerate(rows):
            vote = fresh._bar(high, low, close, volume)
            if vote is not None:
                (up if vote[0] is Action.LONG else down)[i] = True
                power[i] = vote[1]
        return up, down, power

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.symbol!r}, name={self.name!r})"


def clamp01(x: float) -> float:
    """``x`` limited to [0, 1] (a strength)."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class _TwoLineCross(BarSignal):
    """LONG when line ``a`` crosses above ``b`` (a > b now, a <= b at the previous bar),
    FLAT when it crosses below (a < b now, a >= b at the previous bar).

    Strength is the gap between the lines at the crossing bar, relative to the close,
    reaching 1 at ``full_bps`` basis points: a sharp cross counts more than a graze.
    """

    def __init__(self, symbol: str, name: str, full_bps: float) -> None:
        super().__init__(symbol, name)
        self._scale = full_bps / 10_000.0
        self._prev_cmp: int | None = None

    def _cross(self, a: float | None, b: float | None, close: float) -> Vote | None:
        if a is None or b is None:
            self._prev_cmp = None
            return None
        cmp = (a > b) - (a < b)
        prev = self._prev_cmp
        self._prev_cmp = cmp
        if prev is None:
            return None
        if cmp == 1 and prev <= 0:
            return Action.LONG, min(1.0, abs(a - b) / close / self._scale)
        if cmp == -1 and prev >= 0:
            return Action.FLAT, min(1.0, abs(a - b) / close / self._scale)
        return None

    def _lines(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Both lines over a whole series (NaN in warm-up), equal to the incremental ones."""
        raise NotImplementedError

    def _events(self, cols: Columns) -> tuple[BoolArray, BoolArray, FloatArray]:
        import numpy as np

        a, b = self._lines(cols.close)
        up, down = _line_crossings(a, b)
        with np.errstate(invalid="ignore"):
            power = np.minimum(1.0, np.abs(a - b) / cols.close / self._scale)
        return up, down, power


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------


class SmaCross(_TwoLineCross):
    """Fast SMA of closes crossing the slow SMA: above -> LONG, below -> FLAT."""

    default_name = "sma_cross"

    def __init__(
        self,
        symbol: str,
        fast: int = 10,
        slow: int = 30,
        *,
        full_bps: float = 10.0,
        name: str | None = None,
    ) -> None:
        p = self.params = SmaCrossParams(fast=fast, slow=slow, full_bps=full_bps, name=name)
        super().__init__(symbol, name or self.default_name, p.full_bps)
        self.fast, self.slow = p.fast, p.slow
        self._fast_ma = Sma(p.fast)
        self._slow_ma = Sma(p.slow)

    @classmethod
    def from_params(cls, params: SmaCrossParams, symbol: str) -> Self:
        return cls(symbol, params.fast, params.slow, full_bps=params.full_bps, name=params.name)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        a, b = self._fast_ma.update(close), self._slow_ma.update(close)
        return self._cross(a, b, close)

    def _lines(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        return sma_array(close, self.fast), sma_array(close, self.slow)


class EmaCross(_TwoLineCross):
    """Fast EMA of closes crossing the slow EMA: above -> LONG, below -> FLAT."""

    default_name = "ema_cross"

    def __init__(
        self,
        symbol: str,
        fast: int = 12,
        slow: int = 26,
        *,
        full_bps: float = 10.0,
        name: str | None = None,
    ) -> None:
        p = self.params = EmaCrossParams(fast=fast, slow=slow, full_bps=full_bps, name=name)
        super().__init__(symbol, name or self.default_name, p.full_bps)
        self.fast, self.slow = p.fast, p.slow
        self._fast_ma = Ema(p.fast)
        self._slow_ma = Ema(p.slow)

    @classmethod
    def from_params(cls, params: EmaCrossParams, symbol: str) -> Self:
        return cls(symbol, params.fast, params.slow, full_bps=params.full_bps, name=params.name)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        a, b = self._fast_ma.update(close), self._slow_ma.update(close)
        return self._cross(a, b, close)

    def _lines(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        return ema_array(close, self.fast), ema_array(close, self.slow)


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
        full_bps: float = 10.0,
        name: str | None = None,
    ) -> None:
        p = self.params = MacdCrossParams(
            fast=fast, slow=slow, signal=signal, full_bps=full_bps, name=name
        )
        super().__init__(symbol, name or self.default_name, p.full_bps)
        self.fast, self.slow, self.signal = p.fast, p.slow, p.signal
        self._macd = Macd(p.fast, p.slow, p.signal)

    @classmethod
    def from_params(cls, params: MacdCrossParams, symbol: str) -> Self:
        return cls(
            symbol,
            params.fast,
            params.slow,
            params.signal,
            full_bps=params.full_bps,
            name=params.name,
        )

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        macd = self._macd
        if macd.update(close) is None:
            return self._cross(None, None, close)
        return self._cross(macd.line, macd.signal, close)

    def _lines(self, close: FloatArray) -> tuple[FloatArray, FloatArray]:
        line, signal, _ = macd_array(close, self.fast, self.slow, self.signal)
        return line, signal


class RsiReversion(BarSignal):
    """Mean reversion on Wilder's RSI: LONG when it crosses up through ``oversold``
    (RSI > oversold now, <= oversold at the previous bar), FLAT when it crosses down through
    ``overbought`` (RSI < overbought now, >= overbought at the previous bar).

    Strength: ``1 - RSI / 100`` for LONG (the lower, the stronger), ``RSI / 100`` for FLAT.
    """

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
        p = self.params = RsiReversionParams(
            period=period, oversold=oversold, overbought=overbought, name=name
        )
        super().__init__(symbol, name or self.default_name)
        self.period, self.oversold, self.overbought = p.period, p.oversold, p.overbought
        self._rsi = Rsi(p.period)
        self._prev: float | None = None

    @classmethod
    def from_params(cls, params: RsiReversionParams, symbol: str) -> Self:
        return cls(symbol, params.period, params.oversold, params.overbought, name=params.name)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        value = self._rsi.update(close)
        prev = self._prev
        self._prev = value
        if value is None or prev is None:
            return None
        if value > self.oversold and prev <= self.oversold:
            return Action.LONG, 1.0 - value / 100.0
        if value < self.overbought and prev >= self.overbought:
            return Action.FLAT, value / 100.0
        return None

    def _events(self, cols: Columns) -> tuple[BoolArray, BoolArray, FloatArray]:
        import numpy as np

        rsi = rsi_array(cols.close, self.period)
        n = rsi.shape[0]
        up = np.zeros(n, dtype=np.bool_)
        down = np.zeros(n, dtype=np.bool_)
        if n >= 2:
            now, before = rsi[1:], rsi[:-1]  # NaN compares False: no event in warm-up
            up[1:] = (now > self.oversold) & (before <= self.oversold)
            down[1:] = (now < self.overbought) & (before >= self.overbought)
        return up, down, np.where(up, 1.0 - rsi / 100.0, rsi / 100.0)
