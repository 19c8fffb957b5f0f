"""Guards for futures and perpetuals: distance to liquidation, leverage caps, initial margin.

* ``liquidation_buffer`` (runtime) warns as a derivative position nears its
  liquidation price and asks the kernel to cut it (reduce-only) when it is close.
* ``derivative_leverage`` (pre-trade) caps the leverage of each product.
* ``margin_requirement`` (pre-trade) keeps the initial margin of every derivative
  position, after the order, within equity less a headroom, at the rates of the margin
  window the position will be held in.

Spot products are ignored by all three, and exits always pass the pre-trade ones.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import IntEnum
from typing import Self, TypeVar

from gpt_trader.domain import (
    GuardResult,
    MarginSchedule,
    OrderRequest,
    Position,
    Product,
    Reduction,
    Severity,
    TradingState,
)
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window, window_end
from gpt_trader.domain.market import NS
from gpt_trader.domain.money import amount
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import Field, model_validator

from gpt_trader_risk.base import (
    EntryGuard,
    Fraction,
    NonNegDecimal,
    OnCritical,
    PosDecimal,
    PreTradeParams,
    ReportLatch,
    blocked,
    is_exit,
    order_context,
    projected_position,
    quote_of,
    reference_price,
    trip,
)
from gpt_trader_risk.compare import Level, Limit, Mode, apart, num, shown

ZERO = Decimal(0)
ONE = Decimal(1)
_HUNDRED = Decimal(100)


def _pct(fraction: Decimal) -> str:
    return f"{shown(fraction * _HUNDRED, 2, 4)}%"


def _mark(state: StateView, symbol: str) -> Decimal | None:
    """The position's mark (what the kernel's equity is valued at), else the last price."""
    pos = state.positions.get(symbol)
    if pos is not None and pos.mark_price > 0:
        return pos.mark_price
    return state.last_price(symbol) or None


_P = TypeVar("_P", bound=PreTradeParams)


class _DerivativeEntryGuard(EntryGuard[_P]):
    """A pre-trade guard that judges only entries on derivative products."""

    def lets_through(self, request: OrderRequest, state: StateView) -> bool:
        product = state.products.get(request.symbol)
        if product is None or not product.is_derivative:
            return True
        # A reduce-only order can never add exposure: the venue refuses one that would.
        return request.reduce_only or is_exit(request, state)


def margin_schedule(state: StateView) -> MarginSchedule | None:
    """The margin-window schedule of the derivative products traded (the first product's
    that has one; a venue's futures share theirs), None when no product has windows."""
    for product in state.products.values():
        terms = product.derivative
        if terms is not None and terms.schedule is not None:
            return terms.schedule
    return None


def overnight_rates(
    now: int, lookahead_ns: int = 0, schedule: MarginSchedule | None = None
) -> tuple[bool, str]:
    """``(overnight, why)``: whether overnight rates apply to a position held from ``now``
    under ``schedule``, i.e. ``now`` is in the overnight or weekend window or the intraday
    window ends within ``lookahead_ns``; ``why`` names the window for messages. Without a
    schedule a product has one set of rates: (False, "no margin windows")."""
    if schedule is None:
        return False, "no margin windows"
    window = margin_window(now, schedule)
    if window is MarginWindow.OVERNIGHT:
        return True, "overnight window"
    if window is MarginWindow.WEEKEND:
        return True, "weekend window"
    left = window_end(now, schedule) - now
    if left <= lookahead_ns:
        return True, f"intraday window ends in {left // NS} s"
    return False, "intraday window"


def estimate_liquidation(state: StateView, symbol: str, *, overnight: bool) -> Decimal | None:
    """Where ``symbol``'s position would be liquidated under cross margin, from the kernel's
    equity and the products' maintenance rates; None when it cannot be (a long too well
    margined, a missing mark or margin terms).

    The account is liquidated when equity falls to the sum of the maintenance margins of
    its derivative positions. Holding every other mark fixed, with ``n`` = size *
    contract size, mark ``m`` and maintenance rate ``r``: ``E + (p - m) * n = M_other +
    |n| * p * r``, so ``p = (m * n - (E - M_other)) / (n - |n| * r)``.
    """
    others = ZERO
    for other, pos in state.positions.items():
        if other == symbol or pos.size == 0:
            continue
        product = state.products.get(other)
        if product is None or not product.is_derivative:
            continue
        rate = _maintenance_rate(product, pos.size, overnight=overnight)
        mark = _mark(state, other)
        if rate is None or mark is None:
            return None
        others += abs(pos.size) * product.contract_size * mark * rate
    pos = state.positions[symbol]
    product = state.products[symbol]
    rate = _maintenance_rate(product, pos.size, overnight=overnight)
    mark = _mark(state, symbol)
    if rate is None or mark is None:
        return None
    n = pos.size * product.contract_size
    price = (mark * n - (state.equity - others)) / (n - abs(n) * rate)
    return price if price > 0 else None


def _maintenance_rate(product: Product, size: Decimal, *, overnight: bool) -> Decimal | None:
    terms = product.derivative
    if terms is None:
        return None
    sign = 1 if size > 0 else -1
    return terms.initial_rate(sign, overnight=overnight) * terms.maintenance_fraction


# ---- liquidation_buffer -------------------------------------------------------------
class LiquidationBufferParams(Params):
    """Distance to liquidation as a fraction of the mark: WARN within ``warn_within``; within
    ``reduce_within`` cut ``reduce_fraction`` of the position (reduce-only market order);
    within ``halt_within`` (off by default) also move the kernel to ``on_critical``."""

    warn_within: Fraction = Decimal("0.15")
    reduce_within: Fraction = Decimal("0.08")
    reduce_fraction: Fraction = Decimal("0.5")
    halt_within: Fraction | None = None
    on_critical: OnCritical = TradingState.REDUCE_ONLY
    repeat: bool = False

    @model_validator(mode="after")
    def _nested(self) -> Self:
        if self.reduce_within > self.warn_within:
            raise ValueError("reduce_within must not exceed warn_within")
        if self.halt_within is not None and self.halt_within > self.reduce_within:
            raise ValueError("halt_within must not exceed reduce_within")
        return self


class Band(IntEnum):
    """How close a position is to liquidation, from the guard's params."""

    WARN = 1
    REDUCE = 2
    HALT = 3


@dataclasses.dataclass(frozen=True, slots=True)
class _Danger:
    symbol: str
    band: Band
    distance: Decimal
    threshold: Decimal
    mark: Decimal
    liquidation: Decimal
    source: str
    position: Position


class LiquidationBuffer:
    """Runtime guard, called on the kernel's timer and on every fill.

    For every open derivative position it takes the venue's liquidation price, or, when the
    venue has not reported one, :func:`estimate_liquidation` at the maintenance rates of the
    margin window in force (it assumes cross margin). It returns OK when every
    position is outside ``warn_within``; WARN inside it; RECOVERABLE with a
    :class:`~gpt_trader.domain.Reduction` per position inside ``reduce_within``; CRITICAL
    (``on_critical``) inside ``halt_within``. Reports are edge-triggered, except that a cut
    is asked for on every evaluation while the danger lasts and the kernel can place it (no
    order working on the symbol, trading not halted): each such result is a new order.
    """

    name = "liquidation_buffer"

    def __init__(self, params: LiquidationBufferParams) -> None:
        self.p = params
        self.latch = ReportLatch(params.repeat)
        self._key: frozenset[tuple[str, Band]] = frozenset()

    def _bands(self) -> list[tuple[Band, Decimal]]:
        p = self.p
        bands = [(Band.WARN, p.warn_within), (Band.REDUCE, p.reduce_within)]
        if p.halt_within is not None:
            bands.append((Band.HALT, p.halt_within))
        return bands

    def _danger(self, state: StateView, symbol: str, overnight: bool) -> _Danger | None:
        pos = state.positions[symbol]
        mark = _mark(state, symbol)
        if mark is None:
            return None
        source = "venue"
        if pos.liquidation_price is None:
            source = "estimated"
            estimate = estimate_liquidation(state, symbol, overnight=overnight)
            pos = dataclasses.replace(pos, liquidation_price=estimate, mark_price=mark)
        distance, liquidation = pos.liquidation_distance, pos.liquidation_price
        if distance is None or liquidation is None:
            return None
        inside = [(band, t) for band, t in self._bands() if distance <= t]
        if not inside:
            return None
        band, threshold = inside[-1]
        return _Danger(symbol, band, distance, threshold, mark, liquidation, source, pos)

    def evaluate(self, state: StateView) -> GuardResult:
        overnight, _ = overnight_rates(state.now, schedule=margin_schedule(state))
        dangers = []
        for symbol, pos in state.positions.items():
            product = state.products.get(symbol)
            if pos.size == 0 or product is None or not product.is_derivative:
                continue
            danger = self._danger(state, symbol, overnight)
            if danger is not None:
                dangers.append(danger)
        key = frozenset((d.symbol, d.band) for d in dangers)
        if key != self._key:
            self._key = key
            self.latch.level = Severity.OK  # another position or band is news
        if not dangers:
            return self.latch(GuardResult.passed(self.name), state)
        worst = min(dangers, key=lambda d: (-d.band, d.distance))
        cuts = self._cuts(state, dangers)
        result = self._result(worst, len(dangers), cuts)
        reported = self.latch(result, state)
        if cuts and reported.severity is Severity.OK:
            return result  # the danger lasts and a cut can go: ask again
        return reported

    def _cuts(self, state: StateView, dangers: list[_Danger]) -> tuple[Reduction, ...]:
        if state.trading_state is TradingState.HALTED:
            return ()
        working = {o.symbol for o in state.open_orders}
        return tuple(
            Reduction(d.symbol, abs(d.position.size) * self.p.reduce_fraction)
            for d in dangers
            if d.band >= Band.REDUCE and d.symbol not in working
        )

    def _result(self, worst: _Danger, count: int, cuts: tuple[Reduction, ...]) -> GuardResult:
        pos = worst.position
        side = "long" if pos.size > 0 else "short"
        message = (
            f"{worst.symbol} {side} {num(abs(pos.size))}: mark {num(worst.mark)} is "
            f"{_pct(worst.distance)} from liquidation at {num(worst.liquidation)} "
            f"({worst.source}), within {worst.band.name.lower()} {_pct(worst.threshold)}"
        )
        cut = next((c for c in cuts if c.symbol == worst.symbol), None)
        if cut is not None:
            message += f"; cutting {num(cut.size)} reduce-only"
        if count > 1:
            message += f" (+{count - 1} more position(s) within {_pct(self.p.warn_within)})"
        level = Level.WARN if worst.band is Band.WARN else Level.BREACH
        result = trip(
            self.name,
            level,
            message,
            worst.distance,
            worst.threshold,
            breach=Severity.CRITICAL if worst.band is Band.HALT else Severity.RECOVERABLE,
            action=self.p.on_critical,
            symbol=worst.symbol,
            mark=worst.mark,
            liquidation_price=worst.liquidation,
            source=worst.source,
        )
        return dataclasses.replace(result, reduce=cuts)


# ---- derivative_leverage ------------------------------------------------------------
class DerivativeLeverageParams(PreTradeParams):
    """Leverage caps for futures and perpetuals: ``max_leverage`` for every product,
    ``per_product`` for named ones; the product's own maximum always applies too."""

    max_leverage: PosDecimal = Decimal(5)
    per_product: dict[str, PosDecimal] = Field(default_factory=dict)


class DerivativeLeverage(_DerivativeEntryGuard[DerivativeLeverageParams]):
    """Pre-trade guard, called on every order. Returns RECOVERABLE (blocks) when the
    order's ``leverage`` exceeds the product's cap, or when the position after the order
    (working orders on the same side included; notional = contracts * contract size *
    price) over equity does; WARN near the cap; OK for spot products and exits."""

    name = "derivative_leverage"

    def cap(self, product: Product) -> tuple[Decimal, str]:
        """The cap for ``product`` and where it comes from, for messages."""
        if product.symbol in self.p.per_product:
            cap, source = self.p.per_product[product.symbol], "per_product"
        else:
            cap, source = self.p.max_leverage, "max_leverage"
        venue = product.derivative.max_leverage if product.derivative is not None else None
        if venue is not None and venue < cap:
            return venue, "product maximum"
        return cap, source

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        product = state.products[request.symbol]
        ctx = order_context(request)
        cap, source = self.cap(product)
        lim = Limit(cap, Mode.GT, self.p.warn_at)
        if request.leverage is not None and lim.breached(request.leverage):
            return trip(
                self.name,
                Level.BREACH,
                f"order leverage {num(request.leverage)} on {request.symbol} exceeds max "
                f"{num(cap)} ({source})",
                request.leverage,
                cap,
                context=ctx,
            )
        equity = state.equity
        cur = quote_of(state, request.symbol)
        if equity <= 0:
            return blocked(self.name, f"equity {amount(equity, cur)} is not positive", ctx)
        price = reference_price(request, state)
        if price is None:
            return blocked(self.name, f"no price to value {request.symbol}", ctx)
        _, _, projected = projected_position(request, state)
        notional = abs(projected) * product.contract_size * price
        level, value = lim.grade(notional / equity)
        return trip(
            self.name,
            level,
            f"{request.symbol} leverage after this order {shown(value, 2, 6)} "
            f"{lim.verb(value)} max {num(cap)} ({source}; notional "
            f"{amount(notional, cur)} / equity {amount(equity, cur)})",
            value,
            cap,
            notional=notional,
            equity=equity,
            context=ctx,
        )


# ---- margin_requirement -------------------------------------------------------------
class MarginRequirementParams(PreTradeParams):
    """Initial margin of every derivative position after the order at most ``equity * (1 -
    headroom)``. CFM overnight rates apply in the overnight and weekend windows and when the
    intraday window ends within ``overnight_lookahead_s``."""

    headroom: NonNegDecimal = Decimal("0.1")
    overnight_lookahead_s: NonNegDecimal = Decimal(900)

    @model_validator(mode="after")
    def _below_one(self) -> Self:
        if self.headroom >= 1:
            raise ValueError(f"headroom must be below 1 (got {self.headroom})")
        return self


class MarginRequirement(_DerivativeEntryGuard[MarginRequirementParams]):
    """Pre-trade guard, called on every order. Sums ``|size| * contract size * price *
    rate`` over the derivative positions after the order (the order's symbol projected,
    same-side working orders included; priced at the order's limit or last price, the
    others at their marks), where ``rate`` is the product's initial rate for the side and
    window, raised to ``1 / leverage`` of the order (or of the venue's position). Returns
    RECOVERABLE (blocks) above ``equity * (1 - headroom)``, WARN near it, OK for spot
    products and exits; blocks when a price or a product's margin terms are missing."""

    name = "margin_requirement"

    def __init__(self, params: MarginRequirementParams) -> None:
        super().__init__(params)
        self.lookahead_ns = int(params.overnight_lookahead_s * NS)

    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        ctx = order_context(request)
        equity = state.equity
        cur = quote_of(state, request.symbol)
        if equity <= 0:
            return blocked(self.name, f"equity {amount(equity, cur)} is not positive", ctx)
        overnight, why = overnight_rates(state.now, self.lookahead_ns, margin_schedule(state))
        _, _, projected = projected_position(request, state)
        sizes = {s: p.size for s, p in state.positions.items() if p.size != 0}
        sizes[request.symbol] = projected
        required = ZERO
        windowed = False
        for symbol, size in sizes.items():
            held = state.products.get(symbol)
            if size == 0 or held is None or not held.is_derivative:
                continue
            terms = held.derivative
            if terms is None:
                return blocked(self.name, f"no margin terms for {symbol}", ctx)
            mine = symbol == request.symbol
            price = reference_price(request, state) if mine else _mark(state, symbol)
            if price is None:
                return blocked(self.name, f"no price to value {symbol}", ctx)
            pos = state.positions.get(symbol)
            leverage = request.leverage if mine and request.leverage else None
            leverage = leverage or (pos.leverage if pos is not None else None)
            rate = terms.initial_rate(1 if size > 0 else -1, overnight=overnight)
            if leverage:
                rate = max(rate, ONE / leverage)
            required += abs(size) * held.contract_size * price * rate
            windowed = windowed or terms.has_windows
        available = equity * (ONE - self.p.headroom)
        lim = Limit(available, Mode.GT, self.p.warn_at)
        level, value = lim.grade(required)
        rates = f" at {'overnight' if overnight else 'intraday'} rates ({why})" if windowed else ""
        return trip(
            self.name,
            level,
            f"initial margin after this order {amount(value, cur)} {lim.verb(value)} "
            f"available {amount(available, cur)}{apart(value, available, cur)} "
            f"(equity {amount(equity, cur)} less "
            f"{_pct(self.p.headroom)} headroom){rates}",
            value,
            available,
            equity=equity,
            rates="overnight" if overnight else "intraday",
            context=ctx,
        )
