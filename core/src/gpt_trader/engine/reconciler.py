"""The kernel's periodic reconcile: what the venue reports against what the kernel holds.

A venue adapter only produces reports; what is new, and what it changes, is decided here,
so every adapter inherits the same exactly-once rules:

* fills: the venue's fills since the last good reconcile, each applied once by its
  ``trade_id`` (the kernel's ``on_fill`` drops one it has seen, from the stream or an
  earlier report);
* orders: the venue's working orders and the current state of every order the kernel
  thinks working, applied through ``on_order`` (which never revives a finished order):
  an order the kernel did not know is adopted, one that finished without a word on the
  stream is closed;
* positions, once no order of the product is working and nothing moved while they were
  read: a spot product's holding goes to ``on_account_holding`` (it only ever shrinks the
  bot's inventory); a derivative position that differs from the kernel's in two reconciles
  in a row is logged (one in between is a fill on its way).

A broker that is a :class:`~gpt_trader.protocols.ReportingBroker` produces the fill and
order reports itself and says how often to ask; any other broker is reconciled from its
plain ``fills``, ``open_orders`` and ``order`` calls, on request only (``run_once``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from gpt_trader.domain import Fill, Order, OrderStatus, Position, Product
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import Broker, ReportingBroker

log = logging.getLogger("gpt_trader.reconcile")
ZERO = Decimal(0)
NS = 1_000_000_000


@dataclass
class ReconcileStats:
    runs: int = 0
    fills_recovered: int = 0
    orders_recovered: int = 0
    position_mismatches: int = 0


class ReconciledBook(Protocol):
    """What the reconciler reads and feeds: the kernel's book (a protocol, so this module
    does not import the kernel that owns it)."""

    broker: Broker
    orders: dict[str, Order]
    working: set[str]
    broker_calls: int
    fills_received: int

    @property
    def now(self) -> int: ...

    @property
    def products(self) -> Mapping[str, Product]: ...

    @property
    def positions(self) -> Mapping[str, Position]: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_order(self, order: Order) -> None: ...

    def on_account_holding(self, symbol: str, held: Decimal) -> None: ...


class Reconciler:
    """Owned by the kernel: ``tick`` from its timer, ``run_once`` when a broker asks."""

    def __init__(self, kernel: ReconciledBook, interval_s: float | None) -> None:
        self.kernel = kernel
        self.interval_ns = None if interval_s is None else int(interval_s * NS)
        self.stats = ReconcileStats()
        self._lock = asyncio.Lock()
        self._last_good = 0  # when the last complete reconcile began (kernel time)
        self._last_try = 0
        self._mismatches: set[tuple[str, Decimal, Decimal]] = set()

    def begin(self, now: int) -> None:
        """The kernel starts at ``now``: the first reports go back to it, and periodic
        reconciles follow an interval after it."""
        self._last_good = self._last_try = now

    async def tick(self) -> None:
        """Reconcile when the interval has passed since the last attempt (never two at
        once); a failure is logged and tried again an interval later."""
        if self.interval_ns is None or self._lock.locked():
            return
        if self.kernel.now - self._last_try < self.interval_ns:
            return
        try:
            await self.run_once()
        except (BrokerError, ValueError) as exc:
            log.warning("periodic reconcile failed: %s", exc)

    async def run_once(self) -> None:
        """One reconcile (after any running one). Raises the broker's error when a report
        cannot be read: nothing read so far is lost, and the next one goes back as far."""
        async with self._lock:
            kernel = self.kernel
            began = self._last_try = kernel.now
            self.stats.runs += 1
            self._apply_fills(await self._fill_reports(self._last_good))
            self._apply_orders(await self._order_reports(self._asked()))
            await self._check_positions()
            self._last_good = began

    # ---- reports ---------------------------------------------------------------------------
    @property
    def _broker(self) -> Broker:
        return self.kernel.broker

    async def _fill_reports(self, since_ts: int) -> list[Fill]:
        broker = self._broker
        if isinstance(broker, ReportingBroker):
            return await broker.fill_reports(since_ts)
        return await broker.fills(since_ts)

    def _asked(self) -> list[str]:
        """The orders the kernel thinks working (an UNKNOWN submit is the timer's own
        lookup: :meth:`Kernel.resolve_unknown`)."""
        orders = self.kernel.orders
        return sorted(
            cid for cid in self.kernel.working if orders[cid].status is not OrderStatus.UNKNOWN
        )

    async def _order_reports(self, asked: Sequence[str]) -> list[Order]:
        broker = self._broker
        if isinstance(broker, ReportingBroker):
            return await broker.order_reports(asked)
        reports = await broker.open_orders()
        listed = {o.client_order_id for o in reports}
        for cid in asked:
            if cid not in listed:
                order = await broker.order(cid)
                if order is not None:
                    reports.append(order)
        return reports

    # ---- applying --------------------------------------------------------------------------
    def _apply_fills(self, fills: list[Fill]) -> None:
        kernel = self.kernel
        recovered: dict[str, int] = {}
        for fill in sorted(fills, key=lambda f: (f.ts, f.trade_id)):
            before = kernel.fills_received
            kernel.on_fill(fill)
            if kernel.fills_received != before:
                recovered[fill.client_order_id] = recovered.get(fill.client_order_id, 0) + 1
        for cid, n in recovered.items():
            self.stats.fills_recovered += n
            log.warning("reconcile: %d fill(s) of %s were missing; delivered", n, cid)

    def _apply_orders(self, reports: list[Order]) -> None:
        kernel = self.kernel
        for order in reports:
            mine = kernel.orders.get(order.client_order_id)
            if mine is None and order.status.is_working:
                self.stats.orders_recovered += 1
                log.warning(
                    "reconcile: open order %s was not known; adopted", order.client_order_id
                )
            elif mine is not None and mine.status.is_working and order.status.is_terminal:
                self.stats.orders_recovered += 1
                log.warning(
                    "reconcile: %s is %s at the venue", order.client_order_id, order.status.value
                )
            kernel.on_order(order)

    async def _check_positions(self) -> None:
        kernel = self.kernel
        seen = (kernel.broker_calls, kernel.fills_received)
        venue = await self._broker.positions()
        if (kernel.broker_calls, kernel.fills_received) != seen:
            return  # an order or a fill moved while the positions were read: next time
        products = kernel.products
        working = [kernel.orders[cid].symbol for cid in kernel.working]
        # A spot balance is the base currency's, whichever product of it an order is on.
        busy_bases = {products[s].base for s in working if s in products}
        now: set[tuple[str, Decimal, Decimal]] = set()
        for pos in venue:
            product = products.get(pos.symbol)
            if product is None:
                continue
            if not product.is_derivative:
                if product.base not in busy_bases:
                    kernel.on_account_holding(pos.symbol, pos.size)
                continue
            if pos.symbol in working:
                continue
            have = kernel.positions.get(pos.symbol)
            size = have.size if have is not None else ZERO
            if size != pos.size:
                now.add((pos.symbol, size, pos.size))
        for symbol, here, there in sorted(now & self._mismatches):
            self.stats.position_mismatches += 1
            log.warning(
                "reconcile: position %s is %s here but %s at the venue", symbol, here, there
            )
        self._mismatches = now
