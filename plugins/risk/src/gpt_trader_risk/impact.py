"""``impact_cost``: what taking liquidity for an order would cost, in bps of the price.

**With an order book** (``state.book``, see :mod:`gpt_trader_risk.book`) the guard walks it:
the VWAP of the levels the order would take against the mid, half the spread included. A
market order larger than the visible book is blocked.

**Without one** (the in-process sim, backtests, a live feed before its first book) it
estimates the impact with the square-root law, the usual pre-trade model:

    impact (bps) = impact_factor * daily volatility * sqrt(size / daily_volume) * 10_000

The volatility is measured from prices the guard has seen itself. Core's StateView gives
the last price but no candle (no bar volume or range), so the guard samples
``state.last_price`` at every check and every runtime evaluation (each bar in a backtest,
each timer tick live) and takes the realised variance of log returns per second of market
time over its last ``window`` samples, scaled to a day. What it cannot see is liquidity:
``daily_volume`` is the symbol's typical traded volume per day in the order's size units
(base units; contracts for futures), from the trader (the venue's 30-day average, say).
A limit order costs at most the distance of its limit from the last price.

**When it cannot judge** (no book, and no ``daily_volume`` for the symbol or fewer than
``min_prices`` prices seen yet) it never passes silently: such an order gets a WARN (or is
blocked, with ``missing_book = "block"``); at its first runtime evaluation, i.e. at run
start, it reports once every symbol it cannot judge (a WARN result and a log line); and
``preflight`` names them for a ``sim`` profile (:meth:`ImpactCostParams.caveats`).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, Self

from gpt_trader.domain import GuardResult, OrderRequest, OrderType, Side
from gpt_trader.domain.market import NS
from gpt_trader.protocols import StateView
from pydantic import Field, PositiveInt, model_validator

from gpt_trader_risk.base import (
    CheckExitsGuard,
    NonNegDecimal,
    PerSymbol,
    PosDecimal,
    PreTradeParams,
    order_context,
    per_symbol,
    trip,
)
from gpt_trader_risk.book import Book, book_for
from gpt_trader_risk.compare import Level, Limit, Mode, num, shown

log = logging.getLogger("gpt_trader_risk")

ZERO = Decimal(0)
_BPS = Decimal(10_000)
_MILLI = Decimal("0.001")
DAY_S = 86_400.0


class ImpactCostParams(PreTradeParams):
    """``max_bps`` of the price an order may cost to fill; ``daily_volume`` (per symbol,
    ``"*"`` for the rest) lets the guard estimate that cost where there is no book."""

    max_bps: NonNegDecimal = Decimal(50)
    daily_volume: PerSymbol | None = None
    impact_factor: PosDecimal = Decimal(1)
    window: PositiveInt = 240
    min_prices: int = Field(30, ge=2)
    missing_book: Literal["warn", "block"] = "warn"
    check_exits: bool = False

    @model_validator(mode="after")
    def _room(self) -> Self:
        if self.window < self.min_prices:
            raise ValueError(
                f"window ({self.window}) must hold at least min_prices ({self.min_prices})"
            )
        return self

    def volume(self, symbol: str) -> Decimal | None:
        return per_symbol(self.daily_volume, symbol)[0]

    @property
    def unjudged(self) -> str:
        """What happens to an order the guard cannot judge."""
        if self.missing_book == "block":
            return "they are blocked (missing_book = 'block')"
        return "they pass unchecked, with a WARN each"

    def caveats(self, universe: Sequence[str], mode: str) -> list[str]:
        # Live and paper feeds bring a book; before the first one, orders and the run's
        # start say so. A sim run never has one.
        blind = [s for s in universe if self.volume(s) is None]
        if mode != "sim" or not blind:
            return []
        return [
            f"impact_cost cannot judge orders on {', '.join(blind)}: a sim run has no "
            f"order book and no daily_volume is set to estimate from; {self.unjudged}"
        ]


def walk(book: Book, request: OrderRequest) -> tuple[Decimal, Decimal]:
    """``(filled, cost)`` of taking liquidity for ``request``; a limit stops the walk."""
    levels = book.asks if request.side is Side.BUY else book.bids
    remaining, cost = request.size, ZERO
    limit = request.limit_price if request.order_type is not OrderType.MARKET else None
    for price, size in levels:
        if remaining <= 0:
            break
        if limit is not None and (
            (request.side is Side.BUY and price > limit)
            or (request.side is Side.SELL and price < limit)
        ):
            break
        take = min(size, remaining)
        cost += take * price
        remaining -= take
    return request.size - remaining, cost


def _usable(state: StateView, symbol: str) -> tuple[Book, Decimal] | None:
    """The book for ``symbol`` and its mid, when it has both sides."""
    book = book_for(state, symbol)
    mid = None if book is None else book.mid
    return None if book is None or mid is None else (book, mid)


class ImpactCost(CheckExitsGuard[ImpactCostParams]):
    """Pre-trade: the book walked, else the square-root estimate (see the module docstring).
    Runtime: samples prices for the estimate; reports once, at run start, what it cannot
    judge."""

    name = "impact_cost"

    def __init__(self, params: ImpactCostParams) -> None:
        super().__init__(params)
        self._logs: dict[str, deque[tuple[int, float]]] = {}
        self._started = False

    # ---- prices seen ----------------------------------------------------------------------
    def observe(self, state: StateView, symbol: str) -> None:
        """Remember ``symbol``'s last price, once per market time."""
        price, ts = state.last_price(symbol), state.last_market_ts(symbol)
        if price is None or ts is None or price <= 0:
            return
        seen = self._logs.get(symbol)
        if seen is None:
            seen = self._logs[symbol] = deque(maxlen=self.p.window)
        if not seen or ts > seen[-1][0]:
            seen.append((ts, math.log(price)))

    def seen(self, symbol: str) -> int:
        return len(self._logs.get(symbol, ()))

    def daily_volatility(self, symbol: str) -> float | None:
        """Realised volatility of the prices seen, per day of market time (None: too few)."""
        seen = self._logs.get(symbol)
        if seen is None or len(seen) < self.p.min_prices:
            return None
        elapsed_s = (seen[-1][0] - seen[0][0]) / NS
        if elapsed_s <= 0:
            return None
        variance = sum((b - a) ** 2 for (_, a), (_, b) in itertools.pairwise(seen))
        return math.sqrt(variance / elapsed_s * DAY_S)

    # ---- runtime: sample, and say once what cannot be judged ------------------------------
    def evaluate(self, state: StateView) -> GuardResult:
        for symbol in state.products:
            self.observe(state, symbol)
        if self._started:
            return GuardResult.passed(self.name)
        self._started = True
        blind = [
            s for s in state.products if self.p.volume(s) is None and _usable(state, s) is None
        ]
        if not blind:
            return GuardResult.passed(self.name)
        message = (
            f"cannot judge the market impact of orders on {', '.join(blind)}: no order book "
            f"(yet) and no daily_volume to estimate from; {self.p.unjudged}"
        )
        log.warning("%s %s", self.name, message)
        return trip(self.name, Level.WARN, message, None, None, symbols=",".join(blind))

    # ---- pre-trade ------------------------------------------------------------------------
    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        if request.post_only:
            return GuardResult.passed(self.name)
        self.observe(state, request.symbol)
        usable = _usable(state, request.symbol)
        if usable is not None:
            return self._walked(request, *usable)
        return self._estimated(request, state)

    def _walked(self, request: OrderRequest, book: Book, mid: Decimal) -> GuardResult:
        filled, cost = walk(book, request)
        if filled < request.size and request.order_type is OrderType.MARKET:
            return trip(
                self.name,
                Level.BREACH,
                f"book for {request.symbol} holds {num(filled)} of {num(request.size)} on the "
                f"{'ask' if request.side is Side.BUY else 'bid'} side",
                filled,
                request.size,
                context=order_context(request),
            )
        bps = ZERO if filled == 0 else abs(cost / filled - mid) / mid * _BPS
        order = f"{request.side.value} {num(request.size)} {request.symbol}"
        return self._graded(request, "impact cost", bps, f"{order}, mid {num(mid)}", mid=mid)

    def _estimated(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        symbol = request.symbol
        volume = p.volume(symbol)
        if volume is None:
            return self._unjudged(request, "no daily_volume to estimate from")
        sigma = self.daily_volatility(symbol)
        price = state.last_price(symbol)
        if sigma is None or not price:
            seen = self.seen(symbol)
            return self._unjudged(
                request, f"{seen} of {p.min_prices} prices seen to measure its volatility"
            )
        vol = Decimal(repr(sigma))
        # An estimate: a thousandth of a basis point is already more than it knows.
        bps = (p.impact_factor * vol * (request.size / volume).sqrt() * _BPS).quantize(_MILLI)
        if request.order_type is not OrderType.MARKET and request.limit_price is not None:
            sign = 1 if request.side is Side.BUY else -1
            reach = sign * (request.limit_price - price) / price * _BPS
            bps = min(bps, max(ZERO, reach))
        return self._graded(
            request,
            "estimated impact",
            bps,
            f"{request.side.value} {num(request.size)} {symbol}; no order book: "
            f"{num(p.impact_factor)} x daily volatility {shown(vol * 100, 2, 3)}% "
            f"x sqrt(size / daily volume {num(volume)})",
            estimate="square_root",
            daily_volatility=vol,
            daily_volume=volume,
            prices=self.seen(symbol),
        )

    def _graded(
        self, request: OrderRequest, what: str, bps: Decimal, detail: str, **extra: object
    ) -> GuardResult:
        p = self.p
        lim = Limit(p.max_bps, Mode.GT, p.warn_at)
        level, value = lim.grade(bps)
        return trip(
            self.name,
            level,
            f"{what} {shown(value, 1, 3)} bps {lim.verb(value)} max {num(p.max_bps)} bps "
            f"({detail})",
            value,
            p.max_bps,
            context={**order_context(request), **extra},
        )

    def _unjudged(self, request: OrderRequest, why: str) -> GuardResult:
        block = self.p.missing_book == "block"
        return trip(
            self.name,
            Level.BREACH if block else Level.WARN,
            f"no book for {request.symbol} and {why}: impact not checked "
            f"({'blocked' if block else 'passed'})",
            None,
            None,
            context=order_context(request),
        )
