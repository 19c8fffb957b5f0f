"""Position sizers: ``size(decision, state) -> Decimal`` base units, never negative.

The kernel quantises the size to the product's increment (rounding down) and checks the
venue's limits; a size of 0 means "no entry".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from gpt_trader.domain import Decision
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import Field

from gpt_trader_risk.base import Fraction, Money, NonNegDecimal, PosDecimal

__all__ = [
    "AtrParams",
    "AtrSizer",
    "KellyParams",
    "KellySizer",
    "RegimeParams",
    "RegimeSizer",
    "kelly_fraction",
]

ZERO = Decimal(0)
ONE = Decimal(1)
_HUNDRED = Decimal(100)

Probability = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]


def _cap(
    size: Decimal,
    equity: Decimal,
    price: Decimal,
    max_fraction: Decimal,
    max_notional: Decimal | None,
) -> Decimal:
    cap = equity * max_fraction / price
    if max_notional is not None:
        cap = min(cap, max_notional / price)
    return max(ZERO, min(size, cap))


# ---- kelly --------------------------------------------------------------------------
class KellyParams(Params):
    """Fractional Kelly from the closed round trips (``state.closed_trades``).

    ``p`` (win rate) and ``b`` (average win / average loss) are shrunk toward a prior worth
    ``prior_trades`` trades: ``p = (wins + k * prior_win_rate) / (n + k)`` and
    ``b = (n * b_observed + k * prior_payoff) / (n + k)`` (``b_observed`` needs at least one
    win and one loss, else ``b = prior_payoff``). ``f* = p - (1 - p) / b``; the position is
    worth ``min(fraction * f*, max_fraction)`` of equity, and nothing when ``f* <= 0``.

    The prior must carry a small edge (the default ``f*`` is 0.1): with a neutral prior the
    sizer would size 0, never trade, and never learn.
    """

    fraction: Fraction = Decimal("0.25")
    max_fraction: Fraction = Decimal("0.2")
    prior_trades: int = Field(20, ge=0)
    prior_win_rate: Probability = Decimal("0.55")
    prior_payoff: PosDecimal = Decimal(1)
    scope: Literal["symbol", "portfolio"] = "symbol"
    max_notional: Money | None = None


def estimate(trades: Sequence[Decimal], p: KellyParams) -> tuple[Decimal, Decimal] | None:
    """``(win rate, payoff)`` after the prior, or None with no trades and no prior."""
    n = len(trades)
    k = Decimal(p.prior_trades)
    if n == 0 and k == 0:
        return None
    wins = [t for t in trades if t > 0]
    losses = [-t for t in trades if t < 0]
    win_rate = (Decimal(len(wins)) + k * p.prior_win_rate) / (Decimal(n) + k)
    if wins and losses:
        observed = (sum(wins, ZERO) / len(wins)) / (sum(losses, ZERO) / len(losses))
        payoff = (Decimal(n) * observed + k * p.prior_payoff) / (Decimal(n) + k)
    else:
        payoff = p.prior_payoff
    return win_rate, payoff


def kelly_fraction(win_rate: Decimal, payoff: Decimal) -> Decimal:
    """Full Kelly ``p - (1 - p) / b`` (may be negative)."""
    return win_rate - (ONE - win_rate) / payoff


class KellySizer:
    name = "kelly"

    def __init__(self, params: KellyParams) -> None:
        self.p = params

    def fraction_of_equity(self, trades: Sequence[Decimal]) -> Decimal:
        est = estimate(trades, self.p)
        if est is None:
            return ZERO
        full = kelly_fraction(*est)
        if full <= 0:
            return ZERO
        return min(self.p.fraction * full, self.p.max_fraction)

    def size(self, decision: Decision, state: StateView) -> Decimal:
        price = state.last_price(decision.symbol)
        equity = state.equity
        if not price or price <= 0 or equity <= 0:
            return ZERO
        trades = state.closed_trades(decision.symbol if self.p.scope == "symbol" else None)
        f = self.fraction_of_equity(trades)
        return _cap(f * equity / price, equity, price, self.p.max_fraction, self.p.max_notional)


# ---- atr ----------------------------------------------------------------------------
class AtrParams(Params):
    """Risk budget over volatility: ``size = equity * risk_pct / 100 / (atr_multiple * ATR)``,
    capped so the position is worth at most ``max_fraction`` of equity (and ``max_notional``).

    Core keeps no indicators, so the ATR comes from, first match wins:

    1. the sizer's own estimate once it has ``lookback`` true ranges: Wilder's average of
       ``abs(price - previous price)`` over the successive ``state.last_price`` values it
       sees *when it is called*, i.e. at entry decisions only (close-to-close ranges at
       irregular intervals, no highs and lows: a rough estimate);
    2. ``atr[symbol]``: a configured ATR in quote currency per unit (a seed from research).

    Without any, the size is 0 (no entry).
    """

    risk_pct: PosDecimal = Decimal(1)
    atr_multiple: PosDecimal = Decimal(2)
    lookback: int = Field(14, ge=1)
    atr: dict[str, PosDecimal] = Field(default_factory=dict)
    max_fraction: Fraction = Decimal("0.25")
    max_notional: Money | None = None


class AtrSizer:
    name = "atr"

    def __init__(self, params: AtrParams) -> None:
        self.p = params
        self.last: dict[str, tuple[int, Decimal]] = {}
        self.ranges: dict[str, list[Decimal]] = {}
        self.value: dict[str, Decimal] = {}

    def observe(self, symbol: str, ts: int, price: Decimal) -> None:
        """Feed one price; public so anything that sees more prices may call it."""
        before = self.last.get(symbol)
        self.last[symbol] = (ts, price)
        if before is None or before[0] >= ts:
            return
        tr = abs(price - before[1])
        n = self.p.lookback
        if symbol in self.value:
            self.value[symbol] = (self.value[symbol] * (n - 1) + tr) / n
            return
        ranges = self.ranges.setdefault(symbol, [])
        ranges.append(tr)
        if len(ranges) == n:
            self.value[symbol] = sum(ranges, ZERO) / n
            del self.ranges[symbol]

    def atr(self, symbol: str) -> tuple[Decimal | None, str]:
        if symbol in self.value:
            return self.value[symbol], "observed"
        if symbol in self.p.atr:
            return self.p.atr[symbol], "configured"
        return None, "none"

    def size(self, decision: Decision, state: StateView) -> Decimal:
        symbol = decision.symbol
        price = state.last_price(symbol)
        if not price or price <= 0:
            return ZERO
        self.observe(symbol, state.now, price)
        equity = state.equity
        atr, _ = self.atr(symbol)
        if atr is None or atr <= 0 or equity <= 0:
            return ZERO
        raw = equity * self.p.risk_pct / _HUNDRED / (self.p.atr_multiple * atr)
        return _cap(raw, equity, price, self.p.max_fraction, self.p.max_notional)


# ---- regime -------------------------------------------------------------------------
class RegimeParams(Params):
    """``notional`` quote currency per entry times the multiplier of the symbol's regime.

    Core classifies no regimes: a symbol's regime is the one ``regimes`` gives it (e.g.
    from research, ``{ BTC-USD = "trend" }``), else ``"unknown"``. Regimes not in
    ``multipliers`` use ``default_multiplier``.
    """

    notional: Money
    regimes: dict[str, str] = Field(default_factory=dict)
    multipliers: dict[str, NonNegDecimal] = Field(default_factory=dict)
    default_multiplier: NonNegDecimal = Decimal(1)
    max_notional: Money | None = None


class RegimeSizer:
    name = "regime"

    def __init__(self, params: RegimeParams) -> None:
        self.p = params

    def regime(self, symbol: str) -> str:
        return self.p.regimes.get(symbol, "unknown")

    def size(self, decision: Decision, state: StateView) -> Decimal:
        price = state.last_price(decision.symbol)
        if not price or price <= 0:
            return ZERO
        name = self.regime(decision.symbol)
        notional = self.p.notional * self.p.multipliers.get(name, self.p.default_multiplier)
        if self.p.max_notional is not None:
            notional = min(notional, self.p.max_notional)
        return max(ZERO, notional / price)
