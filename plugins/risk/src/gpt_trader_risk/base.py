"""What every guard here shares: param types, result building, exits, edge-triggered reports,
and the pre-trade template that lets exits through."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, Protocol, TypeVar

from gpt_trader.domain import GuardResult, OrderRequest, Product, Severity, Side, TradingState
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import AfterValidator, BeforeValidator, Field

from gpt_trader_risk.compare import DEFAULT_WARN_AT, Level, Limit, num

__all__ = [
    "ACCOUNT",
    "CheckExitsGuard",
    "EntryGuard",
    "EquityBand",
    "Fraction",
    "Money",
    "NonNegDecimal",
    "OnCritical",
    "ParamGuard",
    "PerSymbol",
    "PosDecimal",
    "PreTradeParams",
    "ReportLatch",
    "RuntimeParams",
    "WarnAt",
    "blocked",
    "currency_of",
    "is_exit",
    "order_context",
    "per_symbol",
    "projected_position",
    "quote_of",
    "reference_price",
    "steady_measure",
    "trip",
]

ZERO = Decimal(0)


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative (got {value})")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"must be greater than zero (got {value})")
    return value


def _fraction(value: Decimal) -> Decimal:
    if not (0 < value <= 1):
        raise ValueError(f"must be a fraction in (0, 1] (got {value})")
    return value


NonNegDecimal = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_not_negative)]
PosDecimal = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_positive)]
#: A quote-currency amount; limits on money are Decimal and never negative.
Money = PosDecimal
Fraction = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_fraction)]


def _warn_at(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in ("", "none", "off")):
        return None
    return value


WarnAt = Annotated[Fraction | None, BeforeValidator(_warn_at)]


def _table(value: Any) -> Any:
    """One value for every symbol becomes ``{"*": value}``."""
    if isinstance(value, dict) or value is None:
        return value
    return {"*": value}


#: A positive amount per symbol (``"*"`` is the default); one value applies to every symbol.
PerSymbol = Annotated[dict[str, PosDecimal], BeforeValidator(_table)]


def per_symbol(
    limits: dict[str, Decimal] | None, symbol: str, unlisted: str = "allow"
) -> tuple[Decimal | None, bool]:
    """``(limit, missing)``: the value for ``symbol`` (``"*"`` is the default); ``missing``
    when the table lacks it and unlisted symbols are blocked."""
    if limits is None:
        return None, False
    if symbol in limits:
        return limits[symbol], False
    if "*" in limits:
        return limits["*"], False
    return None, unlisted == "block"


def _on_critical(value: Any) -> TradingState:
    if isinstance(value, TradingState):
        state = value
    else:
        key = str(value).strip().upper().replace("-", "_")
        if key not in ("REDUCE_ONLY", "HALTED"):
            raise ValueError(f"must be 'reduce_only' or 'halted' (got {value!r})")
        state = TradingState[key]
    if state is TradingState.ACTIVE:
        raise ValueError("must be 'reduce_only' or 'halted': a guard can only tighten")
    return state


#: Where a runtime guard moves the kernel on CRITICAL: ``"reduce_only"`` or ``"halted"``.
OnCritical = Annotated[TradingState, BeforeValidator(_on_critical)]


class PreTradeParams(Params):
    """Shared by pre-trade guards."""

    warn_at: WarnAt = Field(DEFAULT_WARN_AT, description="warn from this fraction of a limit")


class RuntimeParams(Params):
    """Shared by runtime guards. ``repeat`` reports every evaluation, not only changes."""

    warn_at: WarnAt = Field(DEFAULT_WARN_AT, description="warn from this fraction of a limit")
    repeat: bool = False


def trip(
    guard: str,
    level: Level,
    message: str,
    value: Decimal | float | None,
    threshold: Decimal | float | None,
    *,
    breach: Severity = Severity.RECOVERABLE,
    action: TradingState = TradingState.HALTED,
    context: Mapping[str, object] | None = None,
    **extra: object,
) -> GuardResult:
    """A GuardResult for ``level``: OK, WARN, or ``breach`` (RECOVERABLE / CRITICAL).

    ``context`` and ``extra`` become the result's context, every value as a string."""
    merged = {**(context or {}), **extra}
    severity = {Level.OK: Severity.OK, Level.WARN: Severity.WARN, Level.BREACH: breach}[level]
    return GuardResult(
        guard=guard,
        severity=severity,
        message=message,
        value=value,
        threshold=threshold,
        action=action,
        context={k: v if isinstance(v, str) else _ctx(v) for k, v in merged.items()},
    )


def _ctx(value: object) -> str:
    if isinstance(value, Decimal | int | float):
        return num(value)
    return str(value)


def blocked(name: str, message: str, context: Mapping[str, object]) -> GuardResult:
    """A pre-trade breach with nothing to measure (no price, no equity): the order stops."""
    return trip(name, Level.BREACH, message, None, None, context=context)


def order_context(request: OrderRequest) -> dict[str, object]:
    """What a pre-trade result's context says about the order it judged."""
    return {
        "symbol": request.symbol,
        "side": request.side.value,
        "size": request.size,
        "client_order_id": request.client_order_id,
    }


def is_exit(request: OrderRequest, state: StateView) -> bool:
    """The kernel's own test: the order closes part or all of a position and does not flip it."""
    pos = state.positions.get(request.symbol)
    if pos is None or pos.size == 0:
        return False
    closing = request.side is (Side.SELL if pos.size > 0 else Side.BUY)
    return closing and request.size <= abs(pos.size)


def signed(request: OrderRequest) -> Decimal:
    return request.size if request.side is Side.BUY else -request.size


def projected_position(
    request: OrderRequest, state: StateView, *, include_open: bool = True
) -> tuple[Decimal, Decimal, Decimal]:
    """``(current, pending, projected)`` signed base size for ``request.symbol``.

    ``pending`` is the remaining size of working orders on the same side as the request
    (orders whose outcome is UNKNOWN included: they may have filled at the venue), so the
    projection is the worst case if everything fills.
    """
    pos = state.positions.get(request.symbol)
    current = pos.size if pos is not None else ZERO
    pending = ZERO
    if include_open:
        for order in state.open_orders:
            if order.symbol == request.symbol and order.side is request.side:
                pending += order.remaining
    sign = 1 if request.side is Side.BUY else -1
    return current, pending * sign, current + pending * sign + signed(request)


def reference_price(request: OrderRequest, state: StateView) -> Decimal | None:
    """The limit price if there is one, else the last traded price, else the mark."""
    if request.limit_price is not None:
        return request.limit_price
    price = state.last_price(request.symbol)
    if price:
        return price
    pos = state.positions.get(request.symbol)
    if pos is not None and pos.mark_price:
        return pos.mark_price
    return None


def currency_of(products: Mapping[str, Product], default: str = "USD") -> str:
    """The quote currency of the universe when there is exactly one, else ``default``."""
    quotes = {p.quote for p in products.values()}
    return quotes.pop() if len(quotes) == 1 else default


def quote_of(state: StateView, symbol: str | None = None) -> str:
    """The currency money about ``symbol`` is in (its product's quote); the universe's for
    the whole account (equity, gross exposure). Messages print money with
    ``gpt_trader.domain.money.amount(value, quote_of(...))``."""
    product = state.products.get(symbol) if symbol else None
    return product.quote if product is not None else currency_of(state.products)


P = TypeVar("P")


class ParamGuard(Generic[P]):
    """A guard configured by one params model, kept as ``self.p``."""

    name: str

    def __init__(self, params: P) -> None:
        self.p = params


class EntryGuard(ParamGuard[P], ABC):
    """Pre-trade template: :meth:`check` passes an order :meth:`lets_through` unchecked and
    hands every other one to :meth:`check_entry`.

    By default an exit passes: a guard that limits exposure must never trap a position.
    """

    def check(self, request: OrderRequest, state: StateView) -> GuardResult:
        if self.lets_through(request, state):
            return GuardResult.passed(self.name)
        return self.check_entry(request, state)

    def lets_through(self, request: OrderRequest, state: StateView) -> bool:
        return is_exit(request, state)

    @abstractmethod
    def check_entry(self, request: OrderRequest, state: StateView) -> GuardResult:
        """The guard's verdict on an order that :meth:`lets_through` did not pass."""


class _ChecksExits(Protocol):
    # A property, not a plain attribute: Params models are frozen.
    @property
    def check_exits(self) -> bool: ...


E = TypeVar("E", bound=_ChecksExits)


class CheckExitsGuard(EntryGuard[E]):
    """An :class:`EntryGuard` about order mechanics (size, rate, book, data age) rather than
    exposure: its params' ``check_exits`` says whether exits are checked as well."""

    def lets_through(self, request: OrderRequest, state: StateView) -> bool:
        return not self.p.check_exits and is_exit(request, state)


class ReportLatch:
    """Edge-triggered reporting for runtime guards (they run on every fill and timer tick).

    A result is passed on when its severity changes. A continuing CRITICAL is passed on
    again only while the kernel is looser than the result's ``action`` (an operator
    loosened it while the breach persists: it must tighten again). Otherwise an unchanged
    result comes back as OK with the same message, which the guard stack drops.
    """

    def __init__(self, repeat: bool = False) -> None:
        self.repeat = repeat
        self.level = Severity.OK

    def __call__(self, result: GuardResult, state: StateView) -> GuardResult:
        previous, self.level = self.level, result.severity
        if self.repeat or result.severity is Severity.OK:
            return result
        if result.severity is not previous:
            return result
        if result.severity is Severity.CRITICAL and state.trading_state < result.action:
            return result
        return GuardResult(
            guard=result.guard,
            severity=Severity.OK,
            message=f"{result.message} (unchanged, already reported)",
            value=result.value,
            threshold=result.threshold,
            action=result.action,
            context=result.context,
        )


# ``market_view`` of a guard that sees the market only through the account: the equity,
# the positions at their marks, the open orders and the price of the product an order is
# for. A replay may then leave out the bars of a product that is flat and has no working
# order (gpt_trader_research.portfolio_replay), and this guard decides the same.
ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class EquityBand:
    """Where a runtime guard's next evaluation changes nothing and reports nothing, with
    everything but the equity as it is now: ``low < equity < high``, ``equity <= peak``
    (above it the guard's peak would move) and the clock before ``until_ns``. None: no
    bound. A replay may skip a timer tick whose equity every guard's band holds."""

    low: Decimal | None
    high: Decimal | None
    peak: Decimal | None = None
    until_ns: int | None = None


def steady_measure(
    lim: Limit, latch: ReportLatch, action: TradingState, state: StateView
) -> tuple[Decimal | None, Decimal | None] | None:
    """The open range of an upper limit's measurement over which ``latch`` drops the next
    result (the severity stays; see :class:`ReportLatch`), or None when every result may
    be reported. Only for guards whose breach is CRITICAL."""
    if not lim.mode.is_upper:
        return None
    line = lim.warn_line
    level = latch.level
    if level is Severity.OK:
        return None, lim.threshold if line is None else line
    if latch.repeat:
        return None
    if level is Severity.WARN and line is not None:
        return line, lim.threshold
    if level is Severity.CRITICAL and state.trading_state >= action:
        return lim.threshold, None
    return None
