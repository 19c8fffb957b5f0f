"""A Donchian-style breakout signal, written the way any third-party signal is written.

LONG when a bar closes above the highest high of the previous ``period`` bars, FLAT when it
closes below their lowest low. Like GPT-Trader's own signals it works on closed candles of
one symbol, returns a value only when its view changes, and costs O(1) amortised per bar:
two monotonic deques hold the candidates for the window's maximum and minimum.
"""

from __future__ import annotations

from collections import deque

from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import Candle, MarketEvent
from gpt_trader.params import Params
from pydantic import Field


class BreakoutParams(Params):
    """``example.breakout``: the channel length ``period`` (bars before the current one)."""

    period: int = Field(20, gt=0, description="bars in the channel, excluding the current one")


class Breakout:
    """Donchian channel breakout for one symbol (long-only)."""

    def __init__(self, symbol: str, period: int = 20, *, name: str = "example.breakout") -> None:
        self.symbol = symbol
        self.period = BreakoutParams(period=period).period
        self.name = name
        self._index = 0  # bars seen so far
        self._last_ts: int | None = None
        self._highs: deque[tuple[int, float]] = deque()  # (bar, high), highs decreasing
        self._lows: deque[tuple[int, float]] = deque()  # (bar, low), lows increasing
        self._view: Action | None = None

    def update(self, event: MarketEvent) -> SignalValue | None:
        if not isinstance(event, Candle) or event.symbol != self.symbol:
            return None
        if self._last_ts is not None and event.ts <= self._last_ts:
            return None  # a repeated or late bar
        self._last_ts = event.ts
        i = self._index
        self._index += 1
        close, high, low = float(event.close), float(event.high), float(event.low)

        # 1. decide against the channel of the previous `period` bars (i - period .. i - 1)
        action: Action | None = None
        oldest = i - self.period
        highs, lows = self._highs, self._lows
        while highs and highs[0][0] < oldest:
            highs.popleft()
        while lows and lows[0][0] < oldest:
            lows.popleft()
        if i >= self.period:
            if close > highs[0][1]:
                action = Action.LONG
            elif close < lows[0][1]:
                action = Action.FLAT

        # 2. add this bar to the channel; every bar enters and leaves each deque once
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))

        if action is None or action is self._view:
            return None
        self._view = action
        word = "above the high" if action is Action.LONG else "below the low"
        return SignalValue(
            self.name,
            self.symbol,
            event.close_ts,
            action,
            reason=f"close {close:g} broke {word} of the last {self.period} bars",
        )
