"""Limit and post-only entries: pricing, timeouts, repricing, partial fills.

An entry (a decision that opens a position) with ``[execution] entry = "limit"`` or
``"post_only"`` goes to the venue as a GTC limit ``offset_bps`` behind the near touch (a
BUY at the best bid less the offset, a SELL at the best ask plus it; the kernel's last
price stands in for a side of the book it does not know). The price is on the product's
tick, rounded away from the market. Exits and guard cuts stay MARKET IOC.

After ``timeout_s`` of market time (the time of the last market event the kernel saw for
the product: a bar's close in a backtest, so the bar is matched first) the unfilled rest
is repriced at most ``max_reprices`` times, then cancelled:

- ``edit``: the venue's edit endpoint moves the price in place (the order keeps its client
  order id, so an edit racing a fill leaves the filled part as the position); where the
  venue refuses the edit for another reason than the order being over, cancel/replace.
- ``cancel_replace``: cancel, and only once the venue confirms the order is over submit a
  new limit for what is left (never two working orders for one decision);
- ``market``: the same, with a MARKET IOC order for the rest.

A post-only order the venue rejects because it would cross is repriced at once, one tick
further from the touch each time, within ``max_reprices``. On a partial fill the filled
part is the position; the rest keeps working (``on_partial = "keep"``) or is cancelled
(``"cancel"``).

Each step of an entry (its current order, when that was placed, the reprices used, what
its earlier orders filled) is in the journal (key ``entry:<symbol>``) before the order it
concerns goes out, so a restart resumes the entry where it was: the timeout counts from
the order's placement, never from the restart; the reprices used stay used; a cancel that
was on its way is sent again and its replacement waits for the venue as before.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol

from gpt_trader.domain import (
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from gpt_trader.domain.events import Event, OrderRejected, OrderUpdated
from gpt_trader.domain.market import BookView
from gpt_trader.domain.products import Product
from gpt_trader.engine.cancels import CancelWatch
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import Broker, OrderJournal


class EntryDesk(Protocol):
    """What working an entry needs of the kernel that owns it (a protocol, so this module
    does not import the kernel)."""

    broker: Broker
    journal: OrderJournal
    orders: dict[str, Order]
    working: set[str]
    cancels: CancelWatch

    @property
    def now(self) -> int: ...

    @property
    def products(self) -> Mapping[str, Product]: ...

    def book(self, symbol: str) -> BookView | None: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def last_market_ts(self, symbol: str) -> int | None: ...

    def next_client_order_id(self) -> str: ...

    def margin_terms(self, symbol: str) -> tuple[Decimal | None, MarginType | None]: ...

    async def submit(self, request: OrderRequest) -> Order | None: ...

    def on_order(self, order: Order) -> None: ...

    def emit(self, event: Event) -> None: ...


log = logging.getLogger("gpt_trader.execution")
NS = 1_000_000_000
BPS = Decimal(10_000)
STATE_PREFIX = "entry:"  # the journal's key for a symbol's working entry


@dataclass(frozen=True)
class ExecutionPolicy:
    """``[execution]`` as the kernel uses it (see :class:`gpt_trader.config.settings`)."""

    entry: str = "market"
    offset_bps: Decimal = Decimal(0)
    timeout_s: float = 60.0
    reprice: str = "cancel_replace"
    max_reprices: int = 3
    on_partial: str = "keep"
    cancel_retries: int = 3
    cancel_give_up_s: float = 60.0

    @property
    def limits(self) -> bool:
        return self.entry != "market"


class Stage(Enum):
    WORKING = "working"  # the current order rests at the venue
    REPLACING = "replacing"  # cancel sent; the replacement waits for the venue's confirmation
    READY = "ready"  # the previous order is over; the replacement goes at the next step
    CLOSING = "closing"  # cancel sent; nothing follows


@dataclass
class Entry:
    """One decision's entry: its orders follow each other, never overlap."""

    symbol: str
    side: Side
    size: Decimal  # what the decision wanted in all
    template: OrderRequest  # the first order; replacements copy its fields
    client_order_id: str
    placed_ts: int
    stage: Stage = Stage.WORKING
    reprices: int = 0
    filled_before: Decimal = Decimal(0)  # by this entry's earlier (finished) orders
    then_market: bool = False  # the replacement is a MARKET IOC order
    cancel_rest: bool = False  # partly filled with on_partial = "cancel"


class Entries:
    """The working limit entries of one kernel, by symbol (one per symbol at most)."""

    def __init__(self, kernel: EntryDesk, policy: ExecutionPolicy) -> None:
        self.kernel = kernel
        self.policy = policy
        self._by_symbol: dict[str, Entry] = {}
        self._by_order: dict[str, Entry] = {}

    @property
    def active(self) -> bool:
        return bool(self._by_symbol)

    def busy(self, symbol: str) -> bool:
        """An entry on ``symbol`` is not over (its next order may not be placed yet)."""
        return symbol in self._by_symbol

    # ---- placing ---------------------------------------------------------------------------
    async def enter(self, market: OrderRequest) -> Order | None:
        """Place ``market`` (the kernel's MARKET IOC request) as a limit entry instead."""
        price = self.price(market.symbol, market.side, None)
        if price is None:
            self.kernel.emit(
                OrderRejected(self.kernel.now, market, "no price to set a limit from", "kernel")
            )
            return None
        request = dataclasses.replace(
            market,
            order_type=OrderType.LIMIT,
            limit_price=price,
            time_in_force=TimeInForce.GTC,
            post_only=self.policy.entry == "post_only",
        )
        entry = Entry(market.symbol, market.side, market.size, request, request.client_order_id, 0)
        return await self._submit(entry, request)

    async def _submit(self, entry: Entry, request: OrderRequest) -> Order | None:
        """Submit one of ``entry``'s orders; a post-only cross is repriced at once."""
        kernel = self.kernel
        while True:
            entry.client_order_id = request.client_order_id
            entry.placed_ts = self._market_now(entry.symbol)
            entry.stage = Stage.WORKING
            self._track(entry)
            self._save(entry)
            # The kernel hands every update of the order to on_order (below), which ends
            # the entry when the order is over.
            order = await kernel.submit(request)
            if order is None or order.status is OrderStatus.REJECTED:
                self._forget(entry)
                crossed = (
                    order is not None and order.reject_reason == RejectReason.POST_ONLY_WOULD_CROSS
                )
                if not crossed or entry.reprices >= self.policy.max_reprices:
                    return order
                entry.reprices += 1
                request = self._next_request(entry, request.limit_price)
                continue
            return order

    def _next_request(self, entry: Entry, after: Decimal | None) -> OrderRequest:
        """The replacement for what ``entry`` still wants (a fresh client order id)."""
        product = self.kernel.products[entry.symbol]
        rest = product.quantize_size(entry.size - entry.filled_before)
        cid = self.kernel.next_client_order_id()
        if entry.then_market or self.policy.reprice == "market":
            return dataclasses.replace(
                entry.template,
                client_order_id=cid,
                size=rest,
                order_type=OrderType.MARKET,
                limit_price=None,
                time_in_force=TimeInForce.IOC,
                post_only=False,
            )
        price = self.price(entry.symbol, entry.side, after)
        return dataclasses.replace(
            entry.template,
            client_order_id=cid,
            size=rest,
            limit_price=price if price is not None else entry.template.limit_price,
        )

    def price(self, symbol: str, side: Side, after: Decimal | None) -> Decimal | None:
        """The limit for ``side``: the near touch less the offset, on the tick grid, away
        from the market; a post-only never at the last price; ``after`` (a price the venue
        refused as crossing) moves it one more tick away."""
        kernel = self.kernel
        product = kernel.products[symbol]
        tick = product.price_increment
        buy = side is Side.BUY
        book = kernel.book(symbol)
        levels = (book.bids if buy else book.asks) if book is not None else ()
        touch = levels[0][0] if levels else None
        if touch is None:
            last = kernel.last_price(symbol)
            if last is None:
                return None
            touch = last - tick if buy and self.policy.entry == "post_only" else last
            if not buy and self.policy.entry == "post_only":
                touch = last + tick
        shift = touch * self.policy.offset_bps / BPS
        raw = touch - shift if buy else touch + shift
        price = product.quantize_price(raw, conservative_for=side.value)
        if after is not None:
            price = min(price, after - tick) if buy else max(price, after + tick)
        return price if price > 0 else None

    # ---- what the venue says -----------------------------------------------------------------
    def on_order(self, order: Order) -> None:
        """An update of one of the kernel's orders (the kernel's own record, updated)."""
        entry = self._by_order.get(order.client_order_id)
        if entry is None or entry.client_order_id != order.client_order_id:
            return
        if order.status.is_terminal:
            self._finish_order(entry, order)
        elif order.filled_size > 0 and self.policy.on_partial == "cancel":
            entry.cancel_rest = True  # the next step cancels it (the kernel's loop may not wait)

    def _finish_order(self, entry: Entry, order: Order) -> None:
        entry.filled_before += order.filled_size
        self._by_order.pop(order.client_order_id, None)
        product = self.kernel.products[entry.symbol]
        rest = product.quantize_size(entry.size - entry.filled_before)
        if entry.stage is Stage.REPLACING and rest > 0 and not product.size_error(rest):
            entry.stage = Stage.READY
            self._save(entry)
            return
        self._by_symbol.pop(entry.symbol, None)
        self._drop(entry.symbol)

    # ---- the clock ---------------------------------------------------------------------------
    async def tick(self) -> None:
        """Timeouts, confirmations and replacements due now (kernel timer and market events)."""
        for entry in list(self._by_symbol.values()):
            if entry.stage is Stage.READY:
                await self._submit(entry, self._next_request(entry, None))
            elif entry.stage is not Stage.WORKING:
                await self._confirm(entry)
            elif entry.cancel_rest:
                await self._cancel(entry, Stage.CLOSING)
            elif self._market_now(entry.symbol) - entry.placed_ts >= self.policy.timeout_s * NS:
                await self._timed_out(entry)

    async def _timed_out(self, entry: Entry) -> None:
        order = self.kernel.orders[entry.client_order_id]
        if order.status is OrderStatus.UNKNOWN:
            return  # the kernel looks it up first; nothing is cancelled blind
        if entry.reprices >= self.policy.max_reprices:
            await self._cancel(entry, Stage.CLOSING)
            return
        entry.reprices += 1
        entry.placed_ts = self._market_now(entry.symbol)
        entry.then_market = self.policy.reprice == "market"
        self._save(entry)  # the reprice is used before the venue hears of it
        if self.policy.reprice == "edit" and await self._edit(entry, order):
            return
        await self._cancel(entry, Stage.REPLACING)
        if entry.stage is Stage.READY:
            await self._submit(entry, self._next_request(entry, None))

    async def _edit(self, entry: Entry, order: Order) -> bool:
        """Move the price in place; False when the venue refused (cancel/replace follows)."""
        kernel = self.kernel
        price = self.price(entry.symbol, entry.side, None)
        if price is None or price == order.limit_price:
            return True  # nothing better to ask for: the order keeps working as it is
        try:
            edited = await kernel.broker.edit(entry.client_order_id, size=None, price=price)
        except BrokerError as exc:
            current = kernel.orders[entry.client_order_id]
            log.info("edit of %s refused: %s", entry.client_order_id, exc)
            # Over already (filled or cancelled while the edit travelled): nothing to move.
            return current.status.is_terminal
        mine = kernel.orders[entry.client_order_id]
        if edited.limit_price is not None and not mine.status.is_terminal:
            mine.limit_price = edited.limit_price
            mine.size = edited.size
            mine.updated_ts = kernel.now
            kernel.emit(OrderUpdated(kernel.now, mine.copy()))
        kernel.on_order(edited)
        return True

    async def _cancel(self, entry: Entry, stage: Stage) -> None:
        entry.stage = stage
        self._save(entry)
        await self.kernel.cancels.cancel(entry.client_order_id)
        await self._confirm(entry)

    async def _confirm(self, entry: Entry) -> None:
        """Ask the venue whether the order the entry waits on is over yet; the cancel goes
        again while it is not (bounded: given up on, the reconcile asks instead)."""
        cid = entry.client_order_id
        cancels = self.kernel.cancels
        if entry.stage is Stage.READY or cid not in self._by_order or cancels.gave_up(cid):
            return
        try:
            venue = await self.kernel.broker.order(cid)
        except BrokerError as exc:
            log.info("lookup of %s failed: %s", cid, exc)
            return
        if venue is not None:
            self.kernel.on_order(venue)
        if cid in self._by_order:  # still working at the venue
            await cancels.cancel(cid)

    def _market_now(self, symbol: str) -> int:
        """The market's time, not the clock's: a replay advances the clock to a bar's close
        before the bar reaches the venue, and that bar may fill the order."""
        seen = self.kernel.last_market_ts(symbol)
        return self.kernel.now if seen is None else seen

    def _track(self, entry: Entry) -> None:
        self._by_symbol[entry.symbol] = entry
        self._by_order[entry.client_order_id] = entry

    def _forget(self, entry: Entry) -> None:
        self._by_order.pop(entry.client_order_id, None)
        self._by_symbol.pop(entry.symbol, None)
        self._drop(entry.symbol)

    # ---- what a restart resumes from -----------------------------------------------------------
    def _save(self, entry: Entry) -> None:
        kernel = self.kernel
        state = {
            "client_order_id": entry.client_order_id,
            "side": entry.side.value,
            "size": str(entry.size),
            "placed_ts": entry.placed_ts,
            "stage": entry.stage.value,
            "reprices": entry.reprices,
            "filled_before": str(entry.filled_before),
            "then_market": entry.then_market,
        }
        kernel.journal.record_state(STATE_PREFIX + entry.symbol, state, kernel.now)

    def _drop(self, symbol: str) -> None:
        self.kernel.journal.record_state(STATE_PREFIX + symbol, None, self.kernel.now)

    async def resume(self) -> None:
        """After a restart (the kernel reconciled its orders first): take up each entry
        the journal says was working. Its order still working keeps its timer and reprices
        (a cancel that was on its way is sent again); an order that ended while the bot
        was down ends the entry, unless a replacement was due for what it left."""
        kernel = self.kernel
        for key, saved in sorted(kernel.journal.kernel_state().items()):
            if not key.startswith(STATE_PREFIX):
                continue
            symbol = key.removeprefix(STATE_PREFIX)
            order = kernel.orders.get(saved["client_order_id"])
            if order is None or symbol not in kernel.products:
                self._drop(symbol)  # its order was over before the last run ended
                continue
            entry = Entry(
                symbol,
                Side(saved["side"]),
                Decimal(saved["size"]),
                self._template(order),
                order.client_order_id,
                int(saved["placed_ts"]),
                Stage(saved["stage"]),
                int(saved["reprices"]),
                Decimal(saved["filled_before"]),
                bool(saved["then_market"]),
            )
            log.info("resuming the entry %s on %s (%s, %d reprice(s) used)",
                     order.client_order_id, symbol, entry.stage.value, entry.reprices)  # fmt: skip
            if entry.stage is Stage.READY:
                self._by_symbol[symbol] = entry  # its last order is over: the rest goes next
            elif order.client_order_id in kernel.working:
                self._track(entry)
                if entry.stage is not Stage.WORKING:
                    await self._cancel(entry, entry.stage)  # it may never have reached the venue
            else:
                self._track(entry)
                self._finish_order(entry, order)

    def _template(self, order: Order) -> OrderRequest:
        """The request ``order`` was placed with, as far as a replacement copies it."""
        leverage, margin_type = self.kernel.margin_terms(order.symbol)
        return OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            size=order.size,
            order_type=OrderType.LIMIT,
            limit_price=order.limit_price,
            time_in_force=TimeInForce.GTC,
            post_only=order.post_only,
            leverage=leverage,
            margin_type=margin_type,
            tag=order.tag,
        )
