"""Runtime guards (circuit breakers): ``evaluate(state)`` on the kernel's timer and on fills.

A breach is CRITICAL with ``action`` = the guard's ``on_critical`` (``reduce_only`` or
``halted``); the kernel only ever tightens on it, and only an operator loosens. Reports are
edge-triggered (see :class:`~gpt_trader_risk.base.ReportLatch`): a guard speaks when its
severity changes, not on every tick, unless ``repeat = true``.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal, Self

from gpt_trader.domain import GuardResult, Severity, TradingState
from gpt_trader.domain.market import NS
from gpt_trader.domain.money import amount
from gpt_trader.protocols import StateView
from pydantic import Field, PositiveInt, model_validator

from gpt_trader_risk.base import (
    ACCOUNT,
    EquityBand,
    Fraction,
    Money,
    OnCritical,
    PosDecimal,
    ReportLatch,
    RuntimeParams,
    steady_measure,
    trip,
)
from gpt_trader_risk.compare import Level, Limit, Mode, apart, num, shown

log = logging.getLogger("gpt_trader_risk")

ZERO = Decimal(0)
_HUNDRED = Decimal(100)
DAY_NS = 86_400 * NS


def _pct(value: Decimal) -> Decimal:
    if value > 100:
        raise ValueError(f"must be at most 100 (got {value})")
    return value


# ---- daily_loss ---------------------------------------------------------------------
class DailyLossParams(RuntimeParams):
    """Loss since 00:00 UTC of ``state.now`` (realised + unrealised, fees included).

    ``limit`` in quote currency and/or ``pct`` of the equity at the day's start (the
    tighter wins); one is required. ``persist`` keeps the day's starting equity in the
    state dir so a restart during the day does not reset the count (default: on in
    ``live`` and ``paper`` mode, off in ``sim``).
    """

    limit: Money | None = None
    pct: PosDecimal | None = None
    on_critical: OnCritical = TradingState.REDUCE_ONLY
    persist: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.limit is None and self.pct is None:
            raise ValueError("set limit (quote currency) and/or pct (of the day's start equity)")
        if self.pct is not None:
            _pct(self.pct)
        return self


@dataclass(slots=True)
class DayStart:
    day: int
    equity: Decimal
    realized: Decimal
    fees: Decimal


class DailyLoss:
    name = "daily_loss"
    market_view = ACCOUNT

    def __init__(
        self,
        params: DailyLossParams,
        *,
        currency: str = "USD",
        state_file: Path | None = None,
    ) -> None:
        self.p = params
        self.currency = currency
        self.state_file = state_file
        self.start: DayStart | None = None
        self.latch = ReportLatch(params.repeat)
        self._limits: tuple[DayStart, Limit] | None = None

    def _limit(self, start: DayStart) -> Limit:
        """The day's limit (it moves only with the day's start equity, under ``pct``)."""
        cached = self._limits
        if cached is None or cached[0] is not start:
            cached = self._limits = (start, Limit(self.limit_for(start), Mode.GE, self.p.warn_at))
        return cached[1]

    def limit_for(self, start: DayStart) -> Decimal:
        limits = []
        if self.p.limit is not None:
            limits.append(self.p.limit)
        if self.p.pct is not None:
            limits.append(max(start.equity, ZERO) * self.p.pct / _HUNDRED)
        return min(limits)

    def _new_day(self, day: int, state: StateView) -> DayStart:
        equity = self._persisted(day)
        start = DayStart(
            day,
            state.equity if equity is None else equity,
            state.realized_pnl,
            state.fees,
        )
        if equity is None:
            self._persist(start)
        return start

    def _persisted(self, day: int) -> Decimal | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            if int(data["day"]) == day:
                return Decimal(str(data["equity"]))
        except (OSError, ValueError, KeyError, TypeError, InvalidOperation) as exc:
            log.warning("daily loss: ignoring unreadable %s: %s", self.state_file, exc)
        return None

    def _persist(self, start: DayStart) -> None:
        if self.state_file is None:
            return
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"day": start.day, "equity": str(start.equity)}))
            tmp.replace(self.state_file)
        except OSError as exc:  # the guard still works from memory
            log.warning("daily loss: cannot record the day's start in %s: %s", self.state_file, exc)

    def evaluate(self, state: StateView) -> GuardResult:
        day = state.now // DAY_NS
        if self.start is None or self.start.day != day:
            self.start = self._new_day(day, state)
        start = self.start
        pnl = state.equity - start.equity
        realised = state.realized_pnl - start.realized
        fees = state.fees - start.fees
        unrealised = pnl - realised + fees
        loss = -pnl
        lim = self._limit(start)
        limit = lim.threshold
        level, value = lim.grade(loss)
        if level is Level.OK:
            # Nothing to report (the guard stack drops OK results): no message to format.
            # It runs after every fill and on every timer tick.
            return self.latch(GuardResult.passed(self.name), state)
        cur = self.currency
        detail = f"realised {amount(realised, cur)}, unrealised {amount(unrealised, cur)}"
        if fees:
            detail += f", fees {amount(fees, cur)}"
        message = (
            f"daily loss {amount(loss, cur)} {cur} {lim.verb(value)} limit {num(limit)} {cur}"
            f"{apart(loss, limit, cur)} ({detail})"
        )
        result = trip(
            self.name,
            level,
            message,
            value,
            limit,
            breach=Severity.CRITICAL,
            action=self.p.on_critical,
            day_start_equity=start.equity,
            realised=realised,
            unrealised=unrealised,
            fees=fees,
        )
        return self.latch(result, state)

    def equity_band(self, state: StateView) -> EquityBand | None:
        """The day's equities whose loss keeps the last severity (see :class:`EquityBand`)."""
        start = self.start
        if start is None:
            return None
        steady = steady_measure(self._limit(start), self.latch, self.p.on_critical, state)
        if steady is None:
            return None
        lo, hi = steady  # of the loss, start equity - equity
        return EquityBand(
            low=None if hi is None else start.equity - hi,
            high=None if lo is None else start.equity - lo,
            until_ns=(start.day + 1) * DAY_NS,
        )


# ---- max_drawdown -------------------------------------------------------------------
class MaxDrawdownParams(RuntimeParams):
    """Drawdown from the equity peak in percent; the peak is the larger of the kernel's
    ``peak_equity`` and the highest equity this guard has seen."""

    pct: PosDecimal = Decimal(10)
    on_critical: OnCritical = TradingState.REDUCE_ONLY

    @model_validator(mode="after")
    def _range(self) -> Self:
        _pct(self.pct)
        return self


class MaxDrawdown:
    name = "max_drawdown"
    market_view = ACCOUNT

    def __init__(self, params: MaxDrawdownParams, *, currency: str = "USD") -> None:
        self.p = params
        self.currency = currency
        self.peak = ZERO
        self.latch = ReportLatch(params.repeat)
        self.limit = Limit(params.pct, Mode.GE, params.warn_at)

    def evaluate(self, state: StateView) -> GuardResult:
        equity = state.equity
        self.peak = max(self.peak, state.peak_equity, equity)
        peak = self.peak
        if peak <= 0:
            return self.latch(
                trip(
                    self.name,
                    Level.BREACH,
                    f"equity peak {amount(peak, self.currency)} {self.currency} is not positive",
                    equity,
                    ZERO,
                    breach=Severity.CRITICAL,
                    action=self.p.on_critical,
                ),
                state,
            )
        drawdown = (peak - equity) / peak * _HUNDRED
        lim = self.limit
        level, value = lim.grade(drawdown)
        if level is Level.OK:  # nothing to report: runs after every fill and timer tick
            return self.latch(GuardResult.passed(self.name), state)
        result = trip(
            self.name,
            level,
            f"drawdown {shown(value, 2, 4)}% from peak {amount(peak, self.currency)} "
            f"{self.currency} {lim.verb(value)} limit {num(self.p.pct)}% (equity "
            f"{amount(equity, self.currency)})",
            value,
            self.p.pct,
            breach=Severity.CRITICAL,
            action=self.p.on_critical,
            peak=peak,
            equity=equity,
        )
        return self.latch(result, state)

    def equity_band(self, state: StateView) -> EquityBand | None:
        """The equities under the peak whose drawdown keeps the last severity (see
        :class:`EquityBand`)."""
        peak = self.peak
        if peak <= 0 or state.peak_equity > peak:
            return None
        steady = steady_measure(self.limit, self.latch, self.p.on_critical, state)
        if steady is None:
            return None
        lo, hi = steady  # of the drawdown in percent, (peak - equity) / peak * 100
        return EquityBand(
            low=None if hi is None else peak - peak * hi / _HUNDRED,
            high=None if lo is None else peak - peak * lo / _HUNDRED,
            peak=peak,
        )


# ---- error_rate ---------------------------------------------------------------------
class ErrorRateParams(RuntimeParams):
    """Share of broker calls that failed over the last ``window_s`` seconds, once at least
    ``min_calls`` calls were made, from the StateView's ``broker_calls`` /
    ``broker_errors`` counters (order submissions, and those that raised)."""

    max_rate: Fraction = Decimal("0.5")
    min_calls: PositiveInt = 5
    window_s: PosDecimal = Decimal(60)
    on_critical: OnCritical = TradingState.HALTED


class ErrorRate:
    name = "error_rate"

    def __init__(self, params: ErrorRateParams) -> None:
        self.p = params
        self.window_ns = int(params.window_s * NS)
        self.samples: deque[tuple[int, int, int]] = deque()
        self.latch = ReportLatch(params.repeat)

    def evaluate(self, state: StateView) -> GuardResult:
        calls, errors = state.broker_calls, state.broker_errors
        now = state.now
        if not self.samples:
            self.samples.append((now, 0, 0))  # the kernel's counters start with the run
        self.samples.append((now, calls, errors))
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window_ns:
            self.samples.popleft()
        _, calls0, errors0 = self.samples[0]
        n_calls, n_errors = calls - calls0, errors - errors0
        if n_calls < self.p.min_calls:
            return self.latch(GuardResult.passed(self.name), state)
        rate = Decimal(n_errors) / Decimal(n_calls)
        lim = Limit(self.p.max_rate, Mode.GE, self.p.warn_at)
        level, value = lim.grade(rate)
        result = trip(
            self.name,
            level,
            f"broker error rate {shown(value * _HUNDRED, 1, 3)}% ({n_errors} of {n_calls} calls in "
            f"the last {num(self.p.window_s)} s) {lim.verb(value)} limit "
            f"{num(self.p.max_rate * _HUNDRED)}%",
            value,
            self.p.max_rate,
            breach=Severity.CRITICAL,
            action=self.p.on_critical,
            calls=n_calls,
            errors=n_errors,
        )
        return self.latch(result, state)


# ---- volatility_breaker -------------------------------------------------------------
class VolatilityParams(RuntimeParams):
    """Trips when a symbol's price moved more than ``pct`` percent within ``window_s``
    seconds: the largest move of the current price from the window's low or high.
    Prices are sampled from ``state.last_price`` whenever runtime guards run."""

    pct: PosDecimal = Decimal(5)
    window_s: PosDecimal = Decimal(300)
    symbols: list[str] = Field(default_factory=list)
    on_critical: OnCritical = TradingState.REDUCE_ONLY


class VolatilityBreaker:
    name = "volatility_breaker"

    def __init__(self, params: VolatilityParams) -> None:
        self.p = params
        self.window_ns = int(params.window_s * NS)
        self.prices: dict[str, deque[tuple[int, Decimal]]] = {}
        self.latch = ReportLatch(params.repeat)

    def evaluate(self, state: StateView) -> GuardResult:
        now = state.now
        lim = Limit(self.p.pct, Mode.PCT_CHANGE_GT, self.p.warn_at)
        worst: tuple[Level, Decimal, str, Decimal, Decimal] | None = None
        for symbol in self.p.symbols or list(state.products):
            price = state.last_price(symbol)
            if not price:
                continue
            series = self.prices.setdefault(symbol, deque())
            if series and series[-1][0] == now:
                series.pop()
            series.append((now, price))
            while series and series[0][0] < now - self.window_ns:
                series.popleft()
            low = min(p for _, p in series)
            high = max(p for _, p in series)
            reference = low if price / low - 1 >= 1 - price / high else high
            level, move = lim.grade(price, reference)
            if worst is None or (level, move) > (worst[0], worst[1]):
                worst = (level, move, symbol, reference, price)
        if worst is None:
            return self.latch(GuardResult.passed(self.name), state)
        level, move, symbol, reference, price = worst
        result = trip(
            self.name,
            level,
            f"{symbol} moved {shown(move, 2, 4)}% within {num(self.p.window_s)} s "
            f"({num(reference)} -> {num(price)}), {lim.verb(move)} limit {num(self.p.pct)}%",
            move,
            self.p.pct,
            breach=Severity.CRITICAL,
            action=self.p.on_critical,
            symbol=symbol,
            reference=reference,
            price=price,
        )
        return self.latch(result, state)


# ---- consecutive_losses -------------------------------------------------------------
class ConsecutiveLossesParams(RuntimeParams):
    """Trips after ``max_losses`` losing round trips in a row (net of fees; a trade that
    is not a loss resets the count), over the whole portfolio or per symbol. The count
    restarts after a trip, so an operator who resumes gets a fresh allowance."""

    max_losses: PositiveInt = 5
    scope: Literal["portfolio", "symbol"] = "portfolio"
    on_critical: OnCritical = TradingState.REDUCE_ONLY


class ConsecutiveLosses:
    """Watches ``state.closed_trades(symbol)`` grow; runtime guards run on every fill, so
    new round trips are seen in the order they closed."""

    name = "consecutive_losses"

    def __init__(self, params: ConsecutiveLossesParams) -> None:
        self.p = params
        self.seen: dict[str, int] = {}
        self.streak = 0
        self.streaks: dict[str, int] = {}
        self.latch = ReportLatch(params.repeat)

    def evaluate(self, state: StateView) -> GuardResult:
        for symbol in sorted(state.products):
            trades = state.closed_trades(symbol)
            start = self.seen.get(symbol, 0)
            if len(trades) <= start:
                continue
            for pnl in trades[start:]:
                loss = pnl < 0
                self.streak = self.streak + 1 if loss else 0
                self.streaks[symbol] = self.streaks.get(symbol, 0) + 1 if loss else 0
            self.seen[symbol] = len(trades)
        if self.p.scope == "portfolio":
            streak, where = self.streak, "in the portfolio"
        else:
            where, streak = max(
                ((f"on {s}", n) for s, n in self.streaks.items()),
                key=lambda item: item[1],
                default=("", 0),
            )
        limit = Decimal(self.p.max_losses)
        lim = Limit(limit, Mode.GE, self.p.warn_at)
        level, value = lim.grade(Decimal(streak))
        result = trip(
            self.name,
            level,
            f"{streak} losing trades in a row {where} {lim.verb(value)} limit {self.p.max_losses}",
            value,
            limit,
            breach=Severity.CRITICAL,
            action=self.p.on_critical,
        )
        if level is Level.BREACH:
            self.streak = 0
            self.streaks.clear()
        return self.latch(result, state)
