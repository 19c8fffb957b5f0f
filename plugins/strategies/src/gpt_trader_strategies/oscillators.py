"""Oscillator and trend-strength signals: the stochastic cross and the ADX trend.

Long-only :class:`~gpt_trader_strategies.signals.BarSignal` s on closed bars.
"""

from __future__ import annotations

from typing import Any

from gpt_trader.domain.decisions import Action

from gpt_trader_strategies.indicators import Adx, Stochastic
from gpt_trader_strategies.params import AdxParams, StochasticParams
from gpt_trader_strategies.signals import BarSignal, Vote, clamp01

__all__ = ["AdxTrend", "StochasticCross"]


class StochasticCross(BarSignal):
    """LONG when %K crosses above %D while %D is below ``oversold``; FLAT when %K crosses
    below %D while %D is above ``overbought`` (a cross: strictly past now, at or behind at
    the bar before).

    Strength: ``1 - %D / 100`` for LONG, ``%D / 100`` for FLAT.
    """

    default_name = "stochastic"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = StochasticParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.oversold, self.overbought = p.oversold, p.overbought
        self._stoch = Stochastic(p.k_period, p.d_period)
        self._prev: tuple[float, float] | None = None

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        d = self._stoch.update(high, low, close)
        prev = self._prev
        if d is None:
            return None
        k = self._stoch.k
        assert k is not None  # %D exists only after %K
        self._prev = (k, d)
        if prev is None:
            return None
        prev_k, prev_d = prev
        if k > d and prev_k <= prev_d and d < self.oversold:
            return Action.LONG, clamp01(1.0 - d / 100.0)
        if k < d and prev_k >= prev_d and d > self.overbought:
            return Action.FLAT, clamp01(d / 100.0)
        return None


class AdxTrend(BarSignal):
    """Trend following on Wilder's ADX: LONG while ADX is above ``threshold`` with +DI over
    -DI; FLAT when ADX drops below ``threshold`` or -DI overtakes +DI.

    Strength: ``ADX / (2 threshold)`` for LONG; for FLAT, the DI spread
    ``|+DI - -DI| / (+DI + -DI)``; both clamped to [0, 1].
    """

    default_name = "adx"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = AdxParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.threshold = p.threshold
        self._adx = Adx(p.period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        adx = self._adx.update(high, low, close)
        plus, minus = self._adx.plus_di, self._adx.minus_di
        if adx is None or plus is None or minus is None:
            return None
        if adx > self.threshold and plus > minus:
            return Action.LONG, clamp01(adx / (2.0 * self.threshold))
        if adx < self.threshold or minus > plus:
            total = plus + minus
            return Action.FLAT, clamp01(abs(plus - minus) / total) if total > 0.0 else 0.0
        return None
