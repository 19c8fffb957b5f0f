"""Orders from intent to outcome, and the fills that move positions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from gpt_trader.domain.products import MarginType

ZERO = Decimal(0)

# Tags of orders the venue places itself: a liquidation of a position, a futures contract's
# settlement at expiry. Adapters tag them so; the store, alerts and reports key on them.
LIQUIDATION_TAG = "venue:liquidation"
SETTLEMENT_TAG = "venue:settlement"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LIMIT = "STOP_LIMIT"
    BRACKET = "BRACKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """Where an order is in its life.

    PENDING: the intent is recorded and may have been sent; no venue answer yet.
    UNKNOWN: sending it failed ambiguously (timeout, 5xx); it must be looked up by
    client_order_id before anything else is done with it, never re-sent blindly.
    """

    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_working(self) -> bool:
        """Could still fill (or has not been answered yet)."""
        return not self.is_terminal


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


class Liquidity(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the kernel wants the venue to do. Amounts are already quantised to the product.

    ``client_order_id`` is unique per intent and is recorded before the request is sent.
    For a bracket, ``limit_price`` is the take-profit and ``stop_price`` the stop trigger.
    """

    client_order_id: str
    symbol: str
    side: Side
    size: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.IOC
    post_only: bool = False
    reduce_only: bool = False
    end_ts: int | None = None
    leverage: Decimal | None = None
    margin_type: MarginType | None = None
    tag: str = ""

    def notional(self, reference_price: Decimal) -> Decimal:
        price = self.limit_price if self.limit_price is not None else reference_price
        return self.size * price


@dataclass(slots=True)
class Order:
    """The kernel's (or a venue's) view of one order; events carry copies.

    ``reject_reason`` is a :class:`~gpt_trader.domain.reasons.RejectReason` on a REJECTED
    order (``RejectReason.of`` reads any text as one); on a CANCELLED one it
    is the venue's cancel note, on an UNKNOWN one the error of the ambiguous submit.
    """

    client_order_id: str
    symbol: str
    side: Side
    size: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    status: OrderStatus = OrderStatus.PENDING
    order_id: str = ""
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    end_ts: int | None = None
    filled_size: Decimal = ZERO
    avg_fill_price: Decimal = ZERO
    fees: Decimal = ZERO
    created_ts: int = 0
    updated_ts: int = 0
    reject_reason: str = ""
    tag: str = ""
    trade_ids: tuple[str, ...] = ()

    @classmethod
    def from_request(cls, req: OrderRequest, ts: int) -> Order:
        """A PENDING order for ``req`` at ``ts``, every other field at its default.

        Field by field, like :meth:`copy` (twice per order); core/tests/test_orders.py pins
        that it equals the keyword construction."""
        new = _new_order(cls)
        new.client_order_id = req.client_order_id
        new.symbol = req.symbol
        new.side = req.side
        new.size = req.size
        new.order_type = req.order_type
        new.time_in_force = req.time_in_force
        new.status = OrderStatus.PENDING
        new.order_id = ""
        new.limit_price = req.limit_price
        new.stop_price = req.stop_price
        new.post_only = req.post_only
        new.reduce_only = req.reduce_only
        new.end_ts = req.end_ts
        new.filled_size = ZERO
        new.avg_fill_price = ZERO
        new.fees = ZERO
        new.created_ts = ts
        new.updated_ts = ts
        new.reject_reason = ""
        new.tag = req.tag
        new.trade_ids = ()
        return new

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled_size

    def copy(self) -> Order:
        """An independent snapshot (events carry these; the original keeps changing).

        Field by field, without ``__init__`` or a loop over names: it runs several times
        per order. core/tests/test_orders.py pins that every field is copied."""
        new = _new_order(Order)
        new.client_order_id = self.client_order_id
        new.symbol = self.symbol
        new.side = self.side
        new.size = self.size
        new.order_type = self.order_type
        new.time_in_force = self.time_in_force
        new.status = self.status
        new.order_id = self.order_id
        new.limit_price = self.limit_price
        new.stop_price = self.stop_price
        new.post_only = self.post_only
        new.reduce_only = self.reduce_only
        new.end_ts = self.end_ts
        new.filled_size = self.filled_size
        new.avg_fill_price = self.avg_fill_price
        new.fees = self.fees
        new.created_ts = self.created_ts
        new.updated_ts = self.updated_ts
        new.reject_reason = self.reject_reason
        new.tag = self.tag
        new.trade_ids = self.trade_ids
        return new


# The class's own allocator: object's, or a compiled class's (bench/compiled.py), which
# refuses object.__new__.
_new_order = Order.__new__


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``trade_id`` is unique per venue: the key that makes fills exactly-once."""

    trade_id: str
    client_order_id: str
    order_id: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts: int

    @property
    def notional(self) -> Decimal:
        return self.price * self.size
