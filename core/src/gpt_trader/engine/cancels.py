"""Cancels the venue has not confirmed: sent again a bounded number of times, then given up.

A cancel is never assumed to have worked: the order stays working in the kernel's book until
the venue reports it over. While the venue neither confirms the cancel nor reports the order
done, the cancel is sent again at most ``retries`` times, spread evenly over ``give_up_s``
(kernel time). Then the kernel stops sending it: one ERROR line in the log and a
``cancel.unconfirmed`` event (the alerts sink raises an alert from it), the order is flagged
for reconciliation (``status`` lists it) and no new entry is made on its product until the
venue reports the order over (the periodic reconcile and the restart keep asking), which
clears the flag with a second event (``resolved``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from gpt_trader.domain import Order
from gpt_trader.domain.events import CancelUnconfirmed, Event
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import Broker

log = logging.getLogger("gpt_trader.cancels")
NS = 1_000_000_000


class CancelHost(Protocol):
    """What watching cancels needs of the kernel."""

    broker: Broker
    orders: dict[str, Order]

    @property
    def now(self) -> int: ...

    def emit(self, event: Event) -> None: ...


@dataclass
class Pending:
    """A cancel the venue has not confirmed yet."""

    symbol: str
    first_ts: int  # when it was first sent
    last_ts: int  # when it was last sent
    sent: int = 0
    gave_up: bool = False


class CancelWatch:
    """The kernel's cancels, each sent through :meth:`cancel` (see the module docstring)."""

    def __init__(self, host: CancelHost, retries: int, give_up_s: float) -> None:
        self.host = host
        self.give_up_ns = int(give_up_s * NS)
        self.spacing_ns = self.give_up_ns // (retries + 1)
        self._pending: dict[str, Pending] = {}

    def gave_up(self, client_order_id: str) -> bool:
        pending = self._pending.get(client_order_id)
        return pending is not None and pending.gave_up

    def blocked(self, symbol: str) -> str:
        """The order on ``symbol`` whose cancel was given up on ("" when none): no new
        entry goes on the product while it is flagged."""
        for cid, pending in self._pending.items():
            if pending.gave_up and pending.symbol == symbol:
                return cid
        return ""

    @property
    def flagged(self) -> list[str]:
        """The orders flagged for reconciliation, in client order id order."""
        return sorted(cid for cid, p in self._pending.items() if p.gave_up)

    async def cancel(self, client_order_id: str) -> None:
        """Send the cancel of a working order, or send it again when the last one is due
        an answer; nothing once the kernel gave up on it (the order stays working)."""
        host = self.host
        order = host.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            self._pending.pop(client_order_id, None)
            return
        now = host.now
        pending = self._pending.get(client_order_id)
        if pending is None:
            pending = self._pending[client_order_id] = Pending(order.symbol, now, now)
        elif pending.gave_up or self._overdue(client_order_id, pending):
            return
        elif now - pending.last_ts < self.spacing_ns:
            return  # the last one may still be on its way
        pending.sent += 1
        pending.last_ts = now
        try:
            await host.broker.cancel([client_order_id])
        except BrokerError as exc:
            log.info("cancel of %s failed: %s; sent again later", client_order_id, exc)

    def tick(self) -> None:
        """Give up on the cancels that ran out of time (the kernel's timer)."""
        for cid, pending in list(self._pending.items()):
            if not pending.gave_up:
                self._overdue(cid, pending)

    def on_order(self, order: Order) -> None:
        """The venue reported ``order``: a finished one needs no cancel any more."""
        pending = self._pending.get(order.client_order_id)
        if pending is None or not order.status.is_terminal:
            return
        del self._pending[order.client_order_id]
        if pending.gave_up:
            log.warning("order %s is %s at the venue: its unconfirmed cancel is resolved",
                        order.client_order_id, order.status.value)  # fmt: skip
            self._emit(order.client_order_id, pending, resolved=True)

    def _overdue(self, cid: str, pending: Pending) -> bool:
        if self.host.now - pending.first_ts < self.give_up_ns:
            return False
        pending.gave_up = True
        log.error("cancel of %s on %s unconfirmed after %d attempt(s) in %ds: no new entry "
                  "on %s until the venue reports the order over (it may still fill)",
                  cid, pending.symbol, pending.sent, self.give_up_ns // NS,
                  pending.symbol)  # fmt: skip
        self._emit(cid, pending, resolved=False)
        return True

    def _emit(self, cid: str, pending: Pending, *, resolved: bool) -> None:
        host = self.host
        host.emit(CancelUnconfirmed(host.now, cid, pending.symbol, pending.sent,
                                    pending.first_ts, resolved))  # fmt: skip
