"""Filters that judge an entry on the market: volume, momentum, trend, volatility and spread.

Each observes the candles of every symbol (the kernel calls ``observe`` before the
signals, so at a decision the filter has seen the bar that led to it) and keeps O(1)
state per symbol. Like every filter, they veto only entries: FLAT always passes. Until a
symbol has enough bars to judge, its entries are vetoed (fail closed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from decimal import Decimal
from typing import Any, ClassVar

from gpt_trader.domain.decisions import Action, Decision, FilterResult
from gpt_trader.domain.market import Candle, MarketEvent
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import Field, model_validator

from gpt_trader_strategies.indicators import Adx, Atr, Sma

__all__ = [
    "MomentumFilter",
    "MomentumParams",
    "SpreadFilter",
    "SpreadParams",
    "TrendFilter",
    "TrendParams",
    "VolatilityFilter",
    "VolatilityParams",
    "VolumeFilter",
    "VolumeParams",
]

_ALLOWED = FilterResult(allowed=True)


class _BarFilter(ABC):
    """Per-symbol bar state fed by ``observe``; ``_veto`` says why an entry may not go."""

    name: ClassVar[str]
    params: Params

    def __init__(self) -> None:
        self._state: dict[str, Any] = {}
        self._last_ts: dict[str, int] = {}

    @classmethod
    def from_params(cls, params: Any) -> Any:
        return cls(**params.model_dump())

    def observe(self, event: MarketEvent) -> None:
        if not isinstance(event, Candle):
            return
        symbol = event.symbol
        last = self._last_ts.get(symbol)
        if last is not None and event.ts <= last:
            return  # a duplicate or late bar, as the signals ignore it
        self._last_ts[symbol] = event.ts
        state = self._state.get(symbol)
        if state is None:
            state = self._state[symbol] = self._new_state()
        self._feed(state, event)

    def allow(self, decision: Decision, state: StateView) -> FilterResult:
        if decision.action is Action.FLAT:
            return _ALLOWED
        bars = self._state.get(decision.symbol)
        reason = "no bars seen yet" if bars is None else self._veto(bars, decision, state)
        return _ALLOWED if reason is None else FilterResult(allowed=False, reason=reason)

    @abstractmethod
    def _new_state(self) -> Any: ...

    @abstractmethod
    def _feed(self, state: Any, candle: Candle) -> None: ...

    @abstractmethod
    def _veto(self, state: Any, decision: Decision, view: StateView) -> str | None:
        """Why this entry may not go (one line), or None to allow it."""


# --------------------------------------------------------------------------------------
# volume
# --------------------------------------------------------------------------------------


class VolumeParams(Params):
    """``volume``: the bar's ``min_volume`` (base units) and its ``relative`` volume, the
    bar's volume over the mean of the ``period`` bars before it."""

    min_volume: float = Field(0.0, ge=0, description="lowest volume of the decision's bar")
    relative: float = Field(
        0.0, ge=0, le=100, description="lowest bar volume / mean volume of the bars before it"
    )
    period: int = Field(20, gt=0, le=10_000, description="bars in the mean volume")


class _VolumeState:
    __slots__ = ("mean_before", "sma", "volume")

    def __init__(self, period: int) -> None:
        self.sma = Sma(period)
        self.volume = 0.0
        self.mean_before: float | None = None


class VolumeFilter(_BarFilter):
    """Allow entries only on a bar with enough volume, absolute and relative."""

    name = "volume"

    def __init__(self, min_volume: float = 0.0, relative: float = 0.0, period: int = 20) -> None:
        super().__init__()
        p = self.params = VolumeParams(min_volume=min_volume, relative=relative, period=period)
        self.min_volume, self.relative, self.period = p.min_volume, p.relative, p.period

    def _new_state(self) -> _VolumeState:
        return _VolumeState(self.period)

    def _feed(self, state: _VolumeState, candle: Candle) -> None:
        state.mean_before = state.sma.value
        state.volume = float(candle.volume)
        state.sma.update(state.volume)

    def _veto(self, state: _VolumeState, decision: Decision, view: StateView) -> str | None:
        if state.volume < self.min_volume:
            return f"volume {state.volume:g} below minimum {self.min_volume:g}"
        if self.relative > 0.0:
            mean = state.mean_before
            if mean is None:
                return f"fewer than {self.period} bars for the relative volume"
            if mean <= 0.0 or state.volume < self.relative * mean:
                ratio = state.volume / mean if mean > 0.0 else 0.0
                return f"relative volume {ratio:.2f} below {self.relative:g}"
        return None


# --------------------------------------------------------------------------------------
# momentum
# --------------------------------------------------------------------------------------


class MomentumParams(Params):
    """``momentum``: the change of the close over ``period`` bars must reach ``min_pct``
    in the entry's direction (LONG: up at least min_pct %, SHORT: down)."""

    period: int = Field(10, gt=0, le=10_000, description="bars the change is measured over")
    min_pct: float = Field(0.0, ge=0, le=100, description="smallest change, in percent")


class MomentumFilter(_BarFilter):
    """Allow entries only when the rate of change over ``period`` bars agrees with them."""

    name = "momentum"

    def __init__(self, period: int = 10, min_pct: float = 0.0) -> None:
        super().__init__()
        p = self.params = MomentumParams(period=period, min_pct=min_pct)
        self.period, self.min_pct = p.period, p.min_pct

    def _new_state(self) -> list[float]:
        return []

    def _feed(self, state: list[float], candle: Candle) -> None:
        state.append(float(candle.close))
        if len(state) > self.period + 1:
            del state[0]  # at most period + 1 closes: O(period) memory, O(1) amortised

    def _veto(self, state: list[float], decision: Decision, view: StateView) -> str | None:
        if len(state) <= self.period:
            return f"fewer than {self.period + 1} bars for the momentum"
        change = (state[-1] / state[0] - 1.0) * 100.0
        signed = change if decision.action is Action.LONG else -change
        if signed < self.min_pct:
            return f"momentum {change:+.2f}% over {self.period} bars, needs {self.min_pct:g}%"
        return None


# --------------------------------------------------------------------------------------
# trend
# --------------------------------------------------------------------------------------


class TrendParams(Params):
    """``trend``: LONG only above the ``period`` SMA of closes (SHORT only below it), and,
    with ``min_adx`` > 0, only while ADX(``adx_period``) reaches ``min_adx``."""

    period: int = Field(200, gt=0, le=100_000, description="SMA period of the trend line")
    min_adx: float = Field(0.0, ge=0, lt=100, description="lowest ADX (0 = no ADX check)")
    adx_period: int = Field(14, ge=2, le=1_000, description="ADX period, in bars")


class _TrendState:
    __slots__ = ("adx", "close", "sma")

    def __init__(self, period: int, adx_period: int) -> None:
        self.sma = Sma(period)
        self.adx = Adx(adx_period)
        self.close = 0.0


class TrendFilter(_BarFilter):
    """Allow entries only with the trend: the close on the entry's side of a long SMA."""

    name = "trend"

    def __init__(self, period: int = 200, min_adx: float = 0.0, adx_period: int = 14) -> None:
        super().__init__()
        p = self.params = TrendParams(period=period, min_adx=min_adx, adx_period=adx_period)
        self.period, self.min_adx, self.adx_period = p.period, p.min_adx, p.adx_period

    def _new_state(self) -> _TrendState:
        return _TrendState(self.period, self.adx_period)

    def _feed(self, state: _TrendState, candle: Candle) -> None:
        state.close = float(candle.close)
        state.sma.update(state.close)
        if self.min_adx > 0.0:
            state.adx.update(float(candle.high), float(candle.low), state.close)

    def _veto(self, state: _TrendState, decision: Decision, view: StateView) -> str | None:
        ma = state.sma.value
        if ma is None:
            return f"fewer than {self.period} bars for the trend SMA"
        long = decision.action is Action.LONG
        if (state.close <= ma) if long else (state.close >= ma):
            side = "above" if long else "below"
            return f"close {state.close:g} not {side} SMA({self.period}) {ma:.6g}"
        if self.min_adx > 0.0:
            adx = state.adx.value
            if adx is None:
                return f"not enough bars for ADX({self.adx_period})"
            if adx < self.min_adx:
                return f"ADX {adx:.1f} below {self.min_adx:g}"
        return None


# --------------------------------------------------------------------------------------
# volatility band
# --------------------------------------------------------------------------------------


class VolatilityParams(Params):
    """``volatility``: ATR(``period``) as basis points of the close must lie in
    [``min_bps``, ``max_bps``]."""

    period: int = Field(14, gt=0, le=10_000, description="ATR period, in bars")
    min_bps: float = Field(0.0, ge=0, description="lowest ATR, in bps of the close")
    max_bps: float = Field(10_000.0, gt=0, description="highest ATR, in bps of the close")

    @model_validator(mode="after")
    def _band_ordered(self) -> VolatilityParams:
        if self.min_bps >= self.max_bps:
            raise ValueError(f"min_bps ({self.min_bps}) must be less than max_bps ({self.max_bps})")
        return self


class _VolatilityState:
    __slots__ = ("atr", "close")

    def __init__(self, period: int) -> None:
        self.atr = Atr(period)
        self.close = 0.0


class VolatilityFilter(_BarFilter):
    """Allow entries only while the volatility (ATR over the close) is inside a band."""

    name = "volatility"

    def __init__(self, period: int = 14, min_bps: float = 0.0, max_bps: float = 10_000.0) -> None:
        super().__init__()
        p = self.params = VolatilityParams(period=period, min_bps=min_bps, max_bps=max_bps)
        self.period, self.min_bps, self.max_bps = p.period, p.min_bps, p.max_bps

    def _new_state(self) -> _VolatilityState:
        return _VolatilityState(self.period)

    def _feed(self, state: _VolatilityState, candle: Candle) -> None:
        state.close = float(candle.close)
        state.atr.update(float(candle.high), float(candle.low), state.close)

    def _veto(self, state: _VolatilityState, decision: Decision, view: StateView) -> str | None:
        atr = state.atr.value
        if atr is None or state.close <= 0.0:
            return f"fewer than {self.period + 1} bars for ATR({self.period})"
        bps = atr / state.close * 10_000.0
        if not self.min_bps <= bps <= self.max_bps:
            return f"ATR {bps:.1f} bps outside [{self.min_bps:g}, {self.max_bps:g}]"
        return None


# --------------------------------------------------------------------------------------
# spread
# --------------------------------------------------------------------------------------


class SpreadParams(Params):
    """``spread``: the bid/ask spread (from the book; without one, the last bar's high-low
    range) must be at most ``max_bps`` of the mid (of the close)."""

    max_bps: float = Field(10.0, gt=0, le=10_000, description="widest spread, in bps")


def _book_spread_bps(view: StateView, symbol: str) -> float | None:
    book = view.book(symbol)
    if book is None:
        return None
    bid, ask = book.best_bid, book.best_ask
    if bid is None or ask is None or bid <= 0 or ask < bid:
        return None
    return float((ask - bid) / ((ask + bid) / Decimal(2)) * 10_000)


class SpreadFilter(_BarFilter):
    """Allow entries only while the market is tight: book spread, else the bar's range."""

    name = "spread"

    def __init__(self, max_bps: float = 10.0) -> None:
        super().__init__()
        self.params = SpreadParams(max_bps=max_bps)
        self.max_bps = self.params.max_bps

    def _new_state(self) -> list[float]:
        return [0.0]

    def _feed(self, state: list[float], candle: Candle) -> None:
        close = float(candle.close)
        state[0] = (float(candle.high) - float(candle.low)) / close * 10_000.0 if close else 0.0

    def allow(self, decision: Decision, state: StateView) -> FilterResult:
        if decision.action is Action.FLAT:
            return _ALLOWED
        spread = _book_spread_bps(state, decision.symbol)
        if spread is None:
            return super().allow(decision, state)
        if spread > self.max_bps:
            return FilterResult(
                allowed=False, reason=f"book spread {spread:.1f} bps above {self.max_bps:g}"
            )
        return _ALLOWED

    def _veto(self, state: list[float], decision: Decision, view: StateView) -> str | None:
        if state[0] > self.max_bps:
            return f"bar range {state[0]:.1f} bps above {self.max_bps:g} (no book)"
        return None
