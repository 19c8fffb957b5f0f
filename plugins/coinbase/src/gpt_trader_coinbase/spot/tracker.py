"""What the broker knows about each order, and the rule for telling the kernel about it.

The user channel is cumulative per order (no trade ids, no fill prices); fills with their
venue ``trade_id`` come only from REST ``/orders/historical/fills``. The tracker keeps, per
venue order id: the most advanced venue view seen (REST or WebSocket; a late, older view
never wins), the trade ids delivered and their total size.

The rule: **an order is reported with the venue's filled size and status only once every
fill up to that size has been delivered.** Until then it is reported as still working
(OPEN / PARTIALLY_FILLED) with the size delivered so far. So the kernel never sees an order
finish before its fills, never frees a symbol for a new entry with a fill still missing,
and receives each fill once, keyed by the real trade id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gpt_trader.domain import Order, OrderRequest, OrderStatus

ZERO = Decimal(0)


def _progress(order: Order) -> tuple[int, Decimal]:
    return (1 if order.status.is_terminal else 0, order.filled_size)


@dataclass
class Tracked:
    order_id: str
    client_order_id: str
    symbol: str
    venue: Order
    request: OrderRequest | None = None
    fill_ids: set[str] = field(default_factory=set)
    delivered: Decimal = ZERO
    reported_key: tuple[object, ...] | None = None
    sync_failures: int = 0
    heard: bool = True  # False while all we have is our own submit acknowledgement

    @property
    def missing(self) -> Decimal:
        """Filled at the venue but not delivered yet."""
        return self.venue.filled_size - self.delivered

    @property
    def settled(self) -> bool:
        """Finished at the venue with every fill delivered: nothing more will happen."""
        return self.venue.status.is_terminal and self.missing <= 0

    def update(self, order: Order) -> bool:
        """Take ``order`` if it is at least as advanced as what we have; True if taken."""
        if _progress(order) < _progress(self.venue):
            return False
        if not order.created_ts:
            order.created_ts = self.venue.created_ts
        if order.status is OrderStatus.UNKNOWN and self.venue.status is not OrderStatus.UNKNOWN:
            return False
        order.tag = order.tag or self.venue.tag  # only REST says what a venue order is for
        self.venue = order
        self.heard = True
        return True

    def view(self) -> Order:
        """The order as the kernel may see it now (see the module docstring)."""
        o = self.venue.copy()
        if self.request is not None:
            o.tag = o.tag or self.request.tag
            o.reduce_only = self.request.reduce_only
        if self.missing > 0 and o.status is not OrderStatus.REJECTED:
            o.status = OrderStatus.PARTIALLY_FILLED if self.delivered > 0 else OrderStatus.OPEN
            o.filled_size = self.delivered
        o.trade_ids = tuple(sorted(self.fill_ids))
        return o

    @staticmethod
    def key_of(o: Order) -> tuple[object, ...]:
        return (o.status, o.filled_size, o.order_id, o.size, o.limit_price, o.reject_reason, o.tag)
