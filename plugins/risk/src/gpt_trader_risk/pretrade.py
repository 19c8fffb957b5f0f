"""Pre-trade guards: ``check(request, state)`` on every order before it reaches the venue.

A breach is RECOVERABLE: the order is blocked, the kernel's trading state is untouched.
Guards that limit exposure never block an *exit* (an order that reduces a position without
flipping it, the kernel's own definition): a risk limit must never trap a position. Guards
about order mechanics (size, rate, book) let exits through by default as well
(``check_exits = false``); ``product_limits`` and ``reduce_only`` check every
order.
"""

from __future__ import annotations

import re
import statistics
from collections import deque
from decimal import Decimal
from typing import Any, Literal, Self

from gpt_trader.domain import (
    GuardResult,
    OrderRequest,
    Severity,
    Side,
    TradingState,
)
from gpt_trader.domain.market import NS
from gpt_trader.domain.money import amount
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import Field, PositiveInt, field_validator, model_validator

from gpt_trader_risk.base import (
    ACCOUNT,
    CheckExitsGuard,
    EntryGuard,
    Fraction,
    Money,
    NonNegDecimal,
    OnCritical,
    ParamGuard,
    PerSymbol,
    PosDecimal,
    PreTradeParams,
    ReportLatch,
    blocked,
    order_context,
    per_symbol,
    projected_position,
    quote_of,
    reference_price,
    trip,
)
from gpt_trader_risk.book import book_for
from gpt_trader_risk.compare import Level, Limit, Mode, apart, num, shown
from gpt_trader_risk.riskfile import load_risk_file

ZERO = Decimal(0)
_BPS = Decimal(10_000)
_HUNDRED = Decimal(100)


def _worst(name: str, results: list[GuardResult]) -> GuardResult:
    if not results:
        return GuardResult.passed(name)
    return max(results, key=lambda r: r.severity)


# ---- max_order_size -----------------------------------------------------------------
class MaxOrderSizeParams(PreTradeParams):
    """``max_size`` in base units (one value, or per symbol with ``"*"`` as the default);
    ``max_notional`` in quote currency. At least one is required."""

    max_size: PerSymbol | None = None
    max_notional: Money | None = None
    unlisted: Literal["block", "allow"] = "block"
    check_exits: bool = False

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.max_size is None and self.max_notional is None:
            raise ValueError("set max_size (base units) and/or max_notional (quote currency)")
        return self


class MaxOrderSize(CheckExitsGuard[MaxOrderSizeParams]):
    """Blocks an order larger than ``max_size`` or worth more than ``max_notional``."""

    name = "max_order_size"

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        ctx = order_context(request)
        out: list[GuardResult] = []
        limit, missing = per_symbol(p.max_size, request.symbol, p.unlisted)
        if missing:
            return blocked(self.name, f"no max_size configured for {request.symbol}", context=ctx)
        if limit is not None:
            lim = Limit(limit, Mode.GT, p.warn_at)
            level, value = lim.grade(request.size)
            out.append(
                trip(
                    self.name,
                    level,
                    f"order size {num(value)} {request.symbol} {lim.verb(value)} "
                    f"max {num(limit)} ({request.side.value} {request.order_type.value})",
                    value,
                    limit,
                    context=ctx,
                )
            )
        if p.max_notional is not None:
            price = reference_price(request, state)
            if price is None:
                return blocked(
                    self.name, f"no price to value the order on {request.symbol}", context=ctx
                )
            lim = Limit(p.max_notional, Mode.GT, p.warn_at)
            level, value = lim.grade(request.size * price)
            cur = quote_of(state, request.symbol)
            out.append(
                trip(
                    self.name,
                    level,
                    f"order notional {amount(value, cur)} {lim.verb(value)} max "
                    f"{num(p.max_notional)}{apart(value, p.max_notional, cur)} "
                    f"({request.side.value} {num(request.size)} {request.symbol} @ {num(price)})",
                    value,
                    p.max_notional,
                    price=price,
                    context=ctx,
                )
            )
        return _worst(self.name, out)


# ---- max_position -------------------------------------------------------------------
class MaxPositionParams(PreTradeParams):
    """``max_size``: the largest absolute position in base units, one value or per symbol
    (``"*"`` is the default for symbols not listed). Working orders on the same side count
    (``include_open``), so the check is against the worst case."""

    max_size: PerSymbol
    unlisted: Literal["block", "allow"] = "block"
    include_open: bool = True


class MaxPosition(EntryGuard[MaxPositionParams]):
    name = "max_position"

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        ctx = order_context(request)
        limit, missing = per_symbol(p.max_size, request.symbol, p.unlisted)
        if missing:
            return blocked(self.name, f"no max_size configured for {request.symbol}", context=ctx)
        if limit is None:
            return GuardResult.passed(self.name)
        current, pending, projected = projected_position(
            request, state, include_open=p.include_open
        )
        lim = Limit(limit, Mode.GT, p.warn_at)
        level, value = lim.grade(abs(projected))
        return trip(
            self.name,
            level,
            f"position {request.symbol} after this order {num(value)} {lim.verb(value)} "
            f"max {num(limit)} (current {num(current)}, pending {num(pending)}, "
            f"order {request.side.value} {num(request.size)})",
            value,
            limit,
            current=current,
            pending=pending,
            context=ctx,
        )


# ---- notional_caps ------------------------------------------------------------------
class NotionalCapsParams(PreTradeParams):
    """Per-symbol caps on a position's value in quote currency.

    ``file``: a risk file (``config/risk/spot_top10.toml``); ``caps``: inline caps, which
    win over the file's. ``"*"`` in ``caps`` is the cap for symbols not listed; otherwise
    ``unlisted`` says whether such symbols are blocked (default) or unlimited.
    """

    file: str | None = None
    caps: dict[str, Money] = Field(default_factory=dict)
    unlisted: Literal["block", "allow"] = "block"
    include_open: bool = True

    @model_validator(mode="before")
    @classmethod
    def _merge_file(cls, data: Any) -> Any:
        # Only a file name and a caps table merge; anything else fails its field's check.
        if (
            isinstance(data, dict)
            and isinstance(data.get("file"), str)
            and data["file"]
            and isinstance(data.get("caps") or {}, dict)
        ):
            risk = load_risk_file(data["file"])
            merged: dict[str, Any] = dict(risk.notional_caps)
            merged.update(data.get("caps") or {})
            data = {**data, "caps": merged}
        return data

    @model_validator(mode="after")
    def _some(self) -> Self:
        if not self.caps:
            raise ValueError("no caps: set caps = {SYMBOL = AMOUNT} or file = a risk file")
        return self


class NotionalCaps(EntryGuard[NotionalCapsParams]):
    name = "notional_caps"
    market_view = ACCOUNT

    def __init__(self, params: NotionalCapsParams) -> None:
        super().__init__(params)
        self.source = params.file or "caps"
        self._limits: dict[Decimal, Limit] = {}  # cap -> its Limit, made once

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        cap, missing = per_symbol(p.caps, request.symbol, p.unlisted)
        if missing:
            return blocked(
                self.name,
                f"no notional cap for {request.symbol} in {self.source}",
                context=order_context(request),
            )
        if cap is None:
            return GuardResult.passed(self.name)
        price = reference_price(request, state)
        if price is None:
            return blocked(
                self.name, f"no price to value {request.symbol}", context=order_context(request)
            )
        current, pending, projected = projected_position(
            request, state, include_open=p.include_open
        )
        lim = self._limits.get(cap)
        if lim is None:
            lim = self._limits[cap] = Limit(cap, Mode.GT, p.warn_at)
        level, value = lim.grade(abs(projected) * price)
        if level is Level.OK:  # the guard stack drops it: nothing to format, on every order
            return GuardResult.passed(self.name)
        cur = quote_of(state, request.symbol)
        return trip(
            self.name,
            level,
            f"notional {request.symbol} after this order {amount(value, cur)} "
            f"{lim.verb(value)} cap {num(cap)}{apart(value, cap, cur)} "
            f"(position {num(current)}, pending {num(pending)}, order "
            f"{request.side.value} {num(request.size)} @ {num(price)})",
            value,
            cap,
            price=price,
            source=self.source,
            context=order_context(request),
        )


# ---- leverage -----------------------------------------------------------------------
class LeverageParams(PreTradeParams):
    """Gross position value over equity after the order; also the order's own ``leverage``
    field. ``max_leverage`` wins over the risk file's; without either it is 1 (spot)."""

    max_leverage: PosDecimal | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and isinstance(data.get("file"), str)
            and data["file"]
            and data.get("max_leverage") is None
        ):
            risk = load_risk_file(data["file"])
            if risk.max_leverage is not None:
                data = {**data, "max_leverage": risk.max_leverage}
        return data

    @property
    def limit(self) -> Decimal:
        return self.max_leverage if self.max_leverage is not None else Decimal(1)


def position_value(state: StateView, symbol: str, size: Decimal) -> Decimal | None:
    if size == 0:
        return ZERO
    pos = state.positions.get(symbol)
    price = state.last_price(symbol) or (pos.mark_price if pos is not None else None)
    if not price:
        return None
    contract = pos.contract_size if pos is not None else Decimal(1)
    return abs(size) * price * contract


class LeverageGuard(EntryGuard[LeverageParams]):
    name = "leverage"

    def __init__(self, params: LeverageParams) -> None:
        super().__init__(params)
        self.max = params.limit

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        ctx = order_context(request)
        lim = Limit(self.max, Mode.GT, self.p.warn_at)
        if request.leverage is not None and lim.breached(request.leverage):
            return trip(
                self.name,
                Level.BREACH,
                f"order leverage {num(request.leverage)} exceeds max {num(self.max)}",
                request.leverage,
                self.max,
                context=ctx,
            )
        equity = state.equity
        if equity <= 0:
            return blocked(
                self.name, f"equity {amount(equity, quote_of(state))} is not positive", context=ctx
            )
        _, _, projected = projected_position(request, state)
        gross = ZERO
        symbols = set(state.positions) | {request.symbol}
        for symbol in symbols:
            if symbol == request.symbol:
                size = projected
                if request.limit_price is not None:
                    pos = state.positions.get(symbol)
                    contract = pos.contract_size if pos is not None else Decimal(1)
                    gross += abs(size) * request.limit_price * contract
                    continue
            else:
                size = state.positions[symbol].size
            value = position_value(state, symbol, size)
            if value is None:
                return blocked(self.name, f"no price to value {symbol}", context=ctx)
            gross += value
        leverage = gross / equity
        level, value = lim.grade(leverage)
        return trip(
            self.name,
            level,
            f"leverage after this order {shown(value, 3, 6)} {lim.verb(value)} max "
            f"{num(self.max)} (gross {amount(gross, quote_of(state))} / equity "
            f"{amount(equity, quote_of(state))})",
            value,
            self.max,
            gross=gross,
            equity=equity,
            context=ctx,
        )


def _missing_book(name: str, policy: str, request: OrderRequest) -> GuardResult:
    block = policy == "block"
    return trip(
        name,
        Level.BREACH if block else Level.WARN,
        f"no book for {request.symbol}: cannot check ({'blocked' if block else 'passed'}; "
        "the state offers no order book)",
        None,
        None,
        context=order_context(request),
    )


# ---- liquidity ----------------------------------------------------------------------
class LiquidityParams(PreTradeParams):
    """Bid/ask spread in bps of the mid; optionally the quote value resting in the first
    ``levels`` levels of the side the order takes must be at least ``min_depth``."""

    max_spread_bps: NonNegDecimal = Decimal(25)
    min_depth: Money | None = None
    levels: PositiveInt = 5
    missing_book: Literal["warn", "block"] = "warn"
    check_exits: bool = False


class LiquidityGuard(CheckExitsGuard[LiquidityParams]):
    """Limitation: reads the optional ``state.book`` like ``impact_cost``."""

    name = "liquidity"

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        book = book_for(state, request.symbol)
        bid, ask = (None, None) if book is None else (book.best_bid, book.best_ask)
        if book is None or bid is None or ask is None:
            return _missing_book(self.name, p.missing_book, request)
        ctx = order_context(request)
        mid = (bid + ask) / 2
        spread = (ask - bid) / mid * _BPS
        lim = Limit(p.max_spread_bps, Mode.GT, p.warn_at)
        level, value = lim.grade(spread)
        out = [
            trip(
                self.name,
                level,
                f"spread {request.symbol} {shown(value, 1, 3)} bps {lim.verb(value)} max "
                f"{num(p.max_spread_bps)} bps (bid {num(bid)}, ask {num(ask)})",
                value,
                p.max_spread_bps,
                context=ctx,
            )
        ]
        if p.min_depth is not None:
            side = book.asks if request.side is Side.BUY else book.bids
            depth = sum((px * sz for px, sz in side[: p.levels]), ZERO)
            dlim = Limit(p.min_depth, Mode.LT, p.warn_at)
            dlevel, dvalue = dlim.grade(depth)
            cur = quote_of(state, request.symbol)
            out.append(
                trip(
                    self.name,
                    dlevel,
                    f"depth {request.symbol} {amount(dvalue, cur)} in {p.levels} levels "
                    f"{dlim.verb(dvalue)} min {num(p.min_depth)}"
                    f"{apart(dvalue, p.min_depth, cur)}",
                    dvalue,
                    p.min_depth,
                    context=ctx,
                )
            )
        return _worst(self.name, out)


# ---- reduce_only --------------------------------------------------------------------
class ReduceOnlyParams(Params):
    """Orders marked ``reduce_only`` must reduce; ``symbols`` (``"*"`` for all) accept only
    orders that reduce (e.g. a market being delisted, or a wind-down profile)."""

    symbols: list[str] = Field(default_factory=list)


class ReduceOnlyGuard(EntryGuard[ReduceOnlyParams]):
    name = "reduce_only"

    def __init__(self, params: ReduceOnlyParams) -> None:
        super().__init__(params)
        self.symbols = frozenset(params.symbols)

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        ctx = order_context(request)
        pos = state.positions.get(request.symbol)
        current = pos.size if pos is not None else ZERO
        if request.reduce_only:
            return trip(
                self.name,
                Level.BREACH,
                f"order marked reduce-only would not reduce: {request.side.value} "
                f"{num(request.size)} {request.symbol} against position {num(current)}",
                request.size,
                abs(current),
                context=ctx,
            )
        if "*" in self.symbols or request.symbol in self.symbols:
            return trip(
                self.name,
                Level.BREACH,
                f"{request.symbol} is reduce-only: {request.side.value} {num(request.size)} "
                f"would add to position {num(current)}",
                request.size,
                ZERO,
                context=ctx,
            )
        return GuardResult.passed(self.name)


# ---- product_limits -----------------------------------------------------------------
class ProductLimitsParams(Params):
    """The venue's own limits (min/max size, increments, tick, min notional), checked
    before the venue sees the order. Applies to every order, exits included."""

    check_notional: bool = True


class ProductLimits(ParamGuard[ProductLimitsParams]):
    name = "product_limits"

    def check(self, request: OrderRequest, state: StateView) -> GuardResult:
        ctx = order_context(request)
        product = state.products.get(request.symbol)
        if product is None:
            return blocked(self.name, f"unknown product {request.symbol}", context=ctx)
        problem = product.size_error(request.size)
        if problem:
            threshold = (
                product.base_min_size
                if request.size < product.base_min_size
                else product.base_max_size
                if request.size > product.base_max_size
                else product.base_increment
            )
            return trip(self.name, Level.BREACH, problem, request.size, threshold, context=ctx)
        for label, price in (("limit", request.limit_price), ("stop", request.stop_price)):
            if price is not None:
                bad = product.price_error(price)
                if bad:
                    return trip(
                        self.name,
                        Level.BREACH,
                        f"{label} {bad}",
                        price,
                        product.price_increment,
                        context=ctx,
                    )
        if self.p.check_notional:
            price = reference_price(request, state)
            if price is not None:
                notional = request.size * price * product.contract_size
                lim = Limit(product.quote_min_size, Mode.LT, None)
                if lim.breached(notional):
                    return trip(
                        self.name,
                        Level.BREACH,
                        f"order notional {amount(notional, product.quote)} {product.quote} is "
                        f"below the minimum {num(product.quote_min_size)} for {request.symbol}"
                        f"{apart(notional, product.quote_min_size, product.quote)}",
                        notional,
                        product.quote_min_size,
                        context=ctx,
                    )
        return GuardResult.passed(self.name)


# ---- trading_window -----------------------------------------------------------------
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_DAY_MIN = 24 * 60


def _minutes(text: str) -> int:
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a UTC time like '14:00'")
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes > _DAY_MIN:
        raise ValueError(f"{text!r} is after 24:00")
    return minutes


class TradingWindowParams(Params):
    """Entries only between ``start`` and ``end`` (UTC ``"HH:MM"``, end exclusive).
    ``start > end`` wraps midnight; ``"00:00"``-``"24:00"`` is the whole day. Exits are
    always allowed."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _minutes(value)
        return value.strip()

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if _minutes(self.start) % _DAY_MIN == _minutes(self.end) % _DAY_MIN and not (
            _minutes(self.start) == 0 and _minutes(self.end) == _DAY_MIN
        ):
            raise ValueError(
                f"start {self.start} and end {self.end} make an empty window; "
                "use start = '00:00', end = '24:00' for the whole day"
            )
        return self


class TradingWindow(EntryGuard[TradingWindowParams]):
    name = "trading_window"

    def __init__(self, params: TradingWindowParams) -> None:
        super().__init__(params)
        self.start = _minutes(params.start)
        self.end = _minutes(params.end)
        self.window = f"{params.start}-{params.end} UTC"

    def is_open(self, ts: int) -> bool:
        minute = (ts // (60 * NS)) % _DAY_MIN
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        if self.is_open(state.now):
            return GuardResult.passed(self.name)
        seconds = (state.now // NS) % 86_400
        now = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return trip(
            self.name,
            Level.BREACH,
            f"outside the trading window {self.window}: now {now} UTC (exits only)",
            Decimal(seconds // 60),
            None,
            window=self.window,
            now=now,
            context=order_context(request),
        )


# ---- max_open_orders ----------------------------------------------------------------
class MaxOpenOrdersParams(PreTradeParams):
    """At most ``max_orders`` working orders (this one included), ``per_symbol`` per symbol.
    Orders whose outcome is UNKNOWN count: they may be working at the venue."""

    max_orders: PositiveInt = 5
    per_symbol: PositiveInt | None = None
    check_exits: bool = False


class MaxOpenOrders(CheckExitsGuard[MaxOpenOrdersParams]):
    name = "max_open_orders"
    market_view = ACCOUNT

    def __init__(self, params: MaxOpenOrdersParams) -> None:
        super().__init__(params)
        self.limit = Limit(Decimal(params.max_orders), Mode.GT, params.warn_at)
        self.symbol_limit = (
            None
            if params.per_symbol is None
            else Limit(Decimal(params.per_symbol), Mode.GT, params.warn_at)
        )

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        working = list(state.open_orders)
        out: list[GuardResult] = []
        lim = self.limit
        level, value = lim.grade(Decimal(len(working) + 1))
        if level is not Level.OK:  # an OK part is dropped: nothing to format, on every order
            out.append(
                trip(
                    self.name,
                    level,
                    f"working orders with this one {num(value)} {lim.verb(value)} "
                    f"max {p.max_orders}",
                    value,
                    lim.threshold,
                    context=order_context(request),
                )
            )
        slim = self.symbol_limit
        if slim is not None:
            mine = sum(1 for o in working if o.symbol == request.symbol)
            slevel, svalue = slim.grade(Decimal(mine + 1))
            if slevel is not Level.OK:
                out.append(
                    trip(
                        self.name,
                        slevel,
                        f"working orders on {request.symbol} with this one {num(svalue)} "
                        f"{slim.verb(svalue)} max {p.per_symbol}",
                        svalue,
                        slim.threshold,
                        context=order_context(request),
                    )
                )
        return _worst(self.name, out)


# ---- orders_per_minute --------------------------------------------------------------
class OrdersPerMinuteParams(PreTradeParams):
    """At most ``max_orders`` orders in any ``window_s`` seconds (60 by default).

    The guard remembers the time of every order it let through. A pre-trade guard cannot
    know whether a later guard blocks the order, so an order blocked further down the
    stack still counts: the count errs on the strict side. Put this guard last in the
    profile's list to make that rare. Exits are counted, and let through unless
    ``check_exits``.
    """

    max_orders: PositiveInt = 10
    window_s: PosDecimal = Decimal(60)
    check_exits: bool = False


class OrdersPerMinute(CheckExitsGuard[OrdersPerMinuteParams]):
    name = "orders_per_minute"

    def __init__(self, params: OrdersPerMinuteParams) -> None:
        super().__init__(params)
        self.window_ns = int(params.window_s * NS)
        self.sent: deque[int] = deque()

    def check(self, request: OrderRequest, state: StateView) -> GuardResult:
        now = state.now
        while self.sent and self.sent[0] <= now - self.window_ns:
            self.sent.popleft()
        result = super().check(request, state)
        # Exits let through count too; a blocked order was never sent.
        if result.severity is not Severity.RECOVERABLE:
            self.sent.append(now)
        return result

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        lim = Limit(Decimal(p.max_orders), Mode.GT, p.warn_at)
        level, value = lim.grade(Decimal(len(self.sent) + 1))
        return trip(
            self.name,
            level,
            f"orders in the last {num(p.window_s)} s with this one {num(value)} "
            f"{lim.verb(value)} max {p.max_orders}",
            value,
            Decimal(p.max_orders),
            context=order_context(request),
        )


# ---- stale_data ---------------------------------------------------------------------
class StaleDataParams(Params):
    """Market data older than ``max_age_s`` blocks entries on that symbol. As a runtime
    guard it also reports (WARN) symbols going stale, and with ``halt_after_s`` moves the
    kernel to ``on_critical`` when data is older than that.

    Age is ``now - state.last_market_ts(symbol)``, where ``now`` is the kernel clock
    (``reference = "clock"``, the default) or the newest market time of any symbol
    (``reference = "feed"``: catches one symbol freezing while others move, not the whole
    feed stopping; use it when event times do not follow the kernel clock, e.g. ``sim``
    mode with the synthetic feed, which stamps historical times on a wall-clock kernel).

    Note: the kernel records a candle's *open* time as the symbol's market time, so with
    candle feeds set ``max_age_s`` above the bar interval (e.g. 90 for 1-minute bars).
    """

    max_age_s: PosDecimal = Decimal(30)
    reference: Literal["clock", "feed"] = "clock"
    symbols: list[str] = Field(default_factory=list)
    halt_after_s: PosDecimal | None = None
    on_critical: OnCritical = TradingState.REDUCE_ONLY
    check_exits: bool = False
    repeat: bool = False


class StaleData(CheckExitsGuard[StaleDataParams]):
    name = "stale_data"

    def __init__(self, params: StaleDataParams) -> None:
        super().__init__(params)
        self.latch = ReportLatch(params.repeat)
        self._stale_key: frozenset[str] = frozenset()

    def _now(self, state: StateView) -> int:
        if self.p.reference == "clock":
            return state.now
        stamps = [state.last_market_ts(s) for s in state.products]
        return max((ts for ts in stamps if ts is not None), default=state.now)

    def _age(self, state: StateView, symbol: str, now: int | None = None) -> Decimal | None:
        ts = state.last_market_ts(symbol)
        if ts is None:
            return None
        return Decimal((self._now(state) if now is None else now) - ts) / NS

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        ctx = order_context(request)
        age = self._age(state, request.symbol)
        if age is None:
            return trip(
                self.name,
                Level.BREACH,
                f"no market data for {request.symbol} yet (max age {num(p.max_age_s)} s)",
                None,
                p.max_age_s,
                context=ctx,
            )
        lim = Limit(p.max_age_s, Mode.GT, None)
        level, value = lim.grade(age)
        return trip(
            self.name,
            level,
            f"market data for {request.symbol} is {shown(value, 3, 6)} s old, {lim.verb(value)} "
            f"max age {num(p.max_age_s)} s",
            value,
            p.max_age_s,
            context=ctx,
        )

    def evaluate(self, state: StateView) -> GuardResult:
        p = self.p
        symbols = p.symbols or list(state.products)
        stale: dict[str, Decimal | None] = {}
        worst = ZERO
        now = self._now(state)
        for symbol in symbols:
            age = self._age(state, symbol, now)
            if age is None or age > p.max_age_s:
                stale[symbol] = age
                worst = max(worst, age if age is not None else Decimal("Infinity"))
        if not stale:
            self._stale_key = frozenset()
            return self.latch(GuardResult.passed(self.name), state)
        listed = ", ".join(
            f"{s} {'never' if a is None else num(a, 1) + ' s'}" for s, a in sorted(stale.items())
        )
        halt = p.halt_after_s
        critical = halt is not None and worst > halt
        threshold = halt if halt is not None and critical else p.max_age_s
        result = trip(
            self.name,
            Level.BREACH if critical else Level.WARN,
            f"stale market data ({listed}); max age {num(threshold)} s",
            None if worst.is_infinite() else worst,
            threshold,
            breach=Severity.CRITICAL,
            action=p.on_critical,
            symbols=",".join(sorted(stale)),
        )
        key = frozenset(stale)
        if key != self._stale_key:
            self._stale_key = key
            self.latch.level = Severity.OK  # a different set of symbols is news
        return self.latch(result, state)


# ---- exposure -----------------------------------------------------------------------
class ExposureParams(PreTradeParams):
    """Portfolio exposure after the order, in percent of equity.

    * ``max_gross_pct``: the value of every position together.
    * ``groups`` + ``max_group_pct``: positions in symbols you declare correlated
      (e.g. ``majors = ["BTC-USD", "ETH-USD"]``) together.
    * ``min_correlation`` + ``max_correlated_pct``: positions in symbols whose measured
      correlation of returns with the order's symbol is at least ``min_correlation``
      together. Returns are sampled from ``state.last_price`` each time runtime guards run
      (timer and fills); until ``min_samples`` returns exist only the groups apply.
    """

    max_gross_pct: PosDecimal = Decimal(100)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    max_group_pct: PosDecimal | None = None
    min_correlation: Fraction | None = None
    max_correlated_pct: PosDecimal | None = None
    correlation_window: int = Field(120, ge=3)
    min_samples: int = Field(30, ge=3)

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        if self.groups and self.max_group_pct is None:
            raise ValueError("groups need max_group_pct")
        if (self.min_correlation is None) != (self.max_correlated_pct is None):
            raise ValueError("min_correlation and max_correlated_pct go together")
        if self.min_samples > self.correlation_window:
            raise ValueError("min_samples must not exceed correlation_window")
        return self


class ExposureGuard(EntryGuard[ExposureParams]):
    name = "exposure"

    def __init__(self, params: ExposureParams) -> None:
        super().__init__(params)
        self.member_of: dict[str, list[str]] = {}
        for group, members in params.groups.items():
            for symbol in members:
                self.member_of.setdefault(symbol, []).append(group)

    def _values(self, request: OrderRequest, state: StateView) -> dict[str, Decimal] | str:
        """Absolute value of every position after the order, or why it cannot be known."""
        _, _, projected = projected_position(request, state)
        sizes = {s: p.size for s, p in state.positions.items() if p.size != 0}
        # Working orders elsewhere that would add exposure (resting limit entries) count as
        # filled: the worst case. The order's own symbol is in ``projected`` already.
        for order in state.open_orders:
            if order.symbol == request.symbol:
                continue
            held = sizes.get(order.symbol, ZERO)
            rest = order.remaining if order.side is Side.BUY else -order.remaining
            if held == 0 or (held > 0) == (rest > 0):
                sizes[order.symbol] = held + rest
        sizes[request.symbol] = projected
        out: dict[str, Decimal] = {}
        for symbol, size in sizes.items():
            if symbol == request.symbol and request.limit_price is not None:
                out[symbol] = abs(size) * request.limit_price
                continue
            value = position_value(state, symbol, size)
            if value is None:
                return f"no price to value {symbol}"
            out[symbol] = value
        return out

    def correlated_with(self, symbol: str) -> dict[str, float]:
        return {}

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        p = self.p
        ctx = order_context(request)
        equity = state.equity
        if equity <= 0:
            return blocked(
                self.name, f"equity {amount(equity, quote_of(state))} is not positive", context=ctx
            )
        values = self._values(request, state)
        if isinstance(values, str):
            return blocked(self.name, values, context=ctx)
        out: list[GuardResult] = []
        gross = sum(values.values(), ZERO)
        cur = quote_of(state)
        out.append(self._grade("gross exposure", gross, equity, p.max_gross_pct, cur, ctx))
        if p.max_group_pct is not None:
            for group in self.member_of.get(request.symbol, []):
                members = self.p.groups[group]
                total = sum((values.get(s, ZERO) for s in members), ZERO)
                label = f"group {group!r} exposure"
                out.append(self._grade(label, total, equity, p.max_group_pct, cur, ctx))
        if p.max_correlated_pct is not None:
            peers = self.correlated_with(request.symbol)
            if peers:
                total = values.get(request.symbol, ZERO) + sum(
                    (values.get(s, ZERO) for s in peers), ZERO
                )
                names = ", ".join(f"{s} {c:.2f}" for s, c in sorted(peers.items()))
                out.append(
                    self._grade(
                        f"exposure correlated with {request.symbol} ({names})",
                        total,
                        equity,
                        p.max_correlated_pct,
                        cur,
                        ctx,
                    )
                )
        return _worst(self.name, out)

    def _grade(
        self,
        label: str,
        total: Decimal,
        equity: Decimal,
        limit: Decimal,
        currency: str,
        ctx: dict[str, object],
    ) -> GuardResult:
        lim = Limit(limit, Mode.GT, self.p.warn_at)
        pct = total / equity * _HUNDRED
        level, value = lim.grade(pct)
        return trip(
            self.name,
            level,
            f"{label} after this order {shown(value, 2, 4)}% of equity {lim.verb(value)} max "
            f"{num(limit)}% ({amount(total, currency)} of {amount(equity, currency)})",
            value,
            limit,
            context=ctx,
        )


class CorrelatedExposureGuard(ExposureGuard):
    """``exposure`` with measured correlation: also a runtime guard, whose
    ``evaluate`` only samples prices (it always returns OK)."""

    def __init__(self, params: ExposureParams) -> None:
        super().__init__(params)
        self.returns: dict[str, deque[float]] = {}
        self.last: dict[str, float] = {}
        self.last_ts: int | None = None

    def evaluate(self, state: StateView) -> GuardResult:
        now = state.now
        if self.last_ts is not None and now <= self.last_ts:
            return GuardResult.passed(self.name)  # one sample per instant
        self.last_ts = now
        window = self.p.correlation_window
        for symbol in state.products:
            price = state.last_price(symbol)
            if not price:
                continue
            value = float(price)
            before = self.last.get(symbol)
            self.last[symbol] = value
            if before:
                series = self.returns.setdefault(symbol, deque(maxlen=window))
                series.append(value / before - 1.0)
        return GuardResult.passed(self.name)

    def correlated_with(self, symbol: str) -> dict[str, float]:
        mine = self.returns.get(symbol)
        if self.p.min_correlation is None:
            return {}
        if mine is None or len(mine) < self.p.min_samples:
            return {}
        out: dict[str, float] = {}
        threshold = float(self.p.min_correlation)
        for other, series in self.returns.items():
            if other == symbol:
                continue
            n = min(len(mine), len(series))
            if n < self.p.min_samples:
                continue
            a, b = list(mine)[-n:], list(series)[-n:]
            try:
                corr = statistics.correlation(a, b)
            except statistics.StatisticsError:
                continue  # a constant series has no correlation
            if corr >= threshold:
                out[other] = corr
        return out
