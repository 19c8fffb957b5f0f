"""Price-channel signals: Bollinger and Donchian breakouts, the ATR (Keltner) channel, and
mean reversion to the rolling VWAP and to the mean (z-score).

All are long-only :class:`~gpt_trader_strategies.signals.BarSignal` s on closed bars: a
level condition gives LONG or FLAT at a bar's close, emitted when it changes the view.
"""

from __future__ import annotations

from typing import Any

from gpt_trader.domain.decisions import Action

from gpt_trader_strategies.indicators import Atr, Ema, MeanStd, RollingMax, RollingMin, Vwap
from gpt_trader_strategies.params import (
    AtrChannelParams,
    BollingerParams,
    DonchianParams,
    VwapParams,
    ZScoreParams,
)
from gpt_trader_strategies.signals import BarSignal, Vote, clamp01

__all__ = ["AtrChannel", "Bollinger", "Donchian", "VwapReversion", "ZScore"]


class Bollinger(BarSignal):
    """Bollinger band breakout: LONG when the close is above ``mean + k * std`` of the last
    ``period`` closes, FLAT when it falls below the mean.

    Strength, with ``z = (close - mean) / std``: ``z / 2k`` for LONG (0.5 on the band),
    ``-z / k`` for FLAT, clamped to [0, 1]. A flat window (no deviation) gives no vote.
    """

    default_name = "bollinger"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = BollingerParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.k = p.k
        self._stats = MeanStd(p.period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        std = self._stats.update(close)
        if not std:
            return None
        z = (close - self._stats.mean) / std  # type: ignore[operator]
        if z > self.k:
            return Action.LONG, clamp01(z / (2.0 * self.k))
        if z < 0.0:
            return Action.FLAT, clamp01(-z / self.k)
        return None


class ZScore(BarSignal):
    """Mean reversion on ``z = (close - mean) / std`` over ``period`` closes: LONG when
    ``z < -entry``, FLAT when ``z > exit``.

    Strength: ``-z / 2 entry`` for LONG (0.5 at the entry level), ``(z + entry) / 2 entry``
    for FLAT, clamped to [0, 1].
    """

    default_name = "zscore"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = ZScoreParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.entry, self.exit = p.entry, p.exit
        self._stats = MeanStd(p.period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        std = self._stats.update(close)
        if not std:
            return None
        z = (close - self._stats.mean) / std  # type: ignore[operator]
        if z < -self.entry:
            return Action.LONG, clamp01(-z / (2.0 * self.entry))
        if z > self.exit:
            return Action.FLAT, clamp01((z + self.entry) / (2.0 * self.entry))
        return None


class Donchian(BarSignal):
    """Donchian breakout (turtle style): LONG when the close beats the highest high of the
    ``period`` bars before it, FLAT when it breaks the lowest low of the ``exit_period``
    bars before it.

    Strength: the share of the bar's range beyond the channel, clamped to [0, 1]; a bar
    with no range that breaks out has strength 1.
    """

    default_name = "donchian"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = DonchianParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self._highest = RollingMax(p.period)
        self._lowest = RollingMin(p.exit_period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        # The channel is of the bars before this one: read it, then add this bar.
        upper, lower = self._highest.value, self._lowest.value
        self._highest.update(high)
        self._lowest.update(low)
        span = high - low
        if upper is not None and close > upper:
            return Action.LONG, clamp01((close - upper) / span) if span > 0.0 else 1.0
        if lower is not None and close < lower:
            return Action.FLAT, clamp01((lower - close) / span) if span > 0.0 else 1.0
        return None


class AtrChannel(BarSignal):
    """ATR (Keltner) channel breakout: LONG when the close is above ``EMA + mult * ATR``,
    FLAT when it falls below the EMA.

    Strength: the distance past the line in ATRs, clamped to [0, 1].
    """

    default_name = "atr_channel"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = AtrChannelParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.mult = p.mult
        self._ema = Ema(p.period)
        self._atr = Atr(p.atr_period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        middle = self._ema.update(close)
        atr = self._atr.update(high, low, close)
        if middle is None or not atr:
            return None
        upper = middle + self.mult * atr
        if close > upper:
            return Action.LONG, clamp01((close - upper) / atr)
        if close < middle:
            return Action.FLAT, clamp01((middle - close) / atr)
        return None


class VwapReversion(BarSignal):
    """Reversion to the rolling VWAP of ``period`` bars: LONG when the close is more than
    ``entry_bps`` below it, FLAT once the close is back at or above it.

    Strength: the deviation over twice ``entry_bps`` for LONG (0.5 at the entry level), over
    ``entry_bps`` for FLAT, clamped to [0, 1].
    """

    default_name = "vwap"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = VwapParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self.entry_bps = p.entry_bps
        self._vwap = Vwap(p.period)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        vwap = self._vwap.update(high, low, close, volume)
        if vwap is None:
            return None
        deviation_bps = (close - vwap) / vwap * 10_000.0
        if deviation_bps < -self.entry_bps:
            return Action.LONG, clamp01(-deviation_bps / (2.0 * self.entry_bps))
        if deviation_bps >= 0.0:
            return Action.FLAT, clamp01(deviation_bps / self.entry_bps)
        return None
