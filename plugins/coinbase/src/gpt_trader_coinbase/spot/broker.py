"""``coinbase.spot``: the Broker protocol over Advanced Trade REST and the user channel.

The broker is four parts, each its own module:

* :mod:`~gpt_trader_coinbase.spot.following`: the record of every order it hears of, and
  the rule for handing orders and fills to the kernel (the :class:`BrokerListener` given
  to ``start``): every exchange fill, by its real ``trade_id``, before the order update
  that carries it;
* :mod:`~gpt_trader_coinbase.spot.orders`: submit, cancel and edit over REST, and the
  lookup of an ambiguous submit (never sent again);
* :mod:`~gpt_trader_coinbase.spot.user_channel`: order updates over WebSocket, and the
  resync (a reconcile asked of the kernel) after a reconnect, a gap or a silence;
* :mod:`~gpt_trader_coinbase.spot.reports`: the fill and order reports of the kernel's
  periodic reconcile (``ReportingBroker``; every ``reconcile_interval_s``), which finds
  fills the stream missed and orders that finished without a word on it.

This module holds the lifecycle and the reads.

Spot positions (``positions()``): the total (available + held) balance of each base
currency, minus the profile's ``reserve`` for it, attributed to the first universe product
with that base; other funded currencies are listed against the quote currency for the
CLI. Average entry prices are not derived (0 = unknown: the kernel keeps its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from decimal import Decimal

from gpt_trader.domain import Balance, Fill, Order, OrderStatus, Position, Product
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import BrokerListener

from gpt_trader_coinbase.auth import Credentials
from gpt_trader_coinbase.convert import (
    WORKING_STATUSES,
    alias_product,
    balance_from_account,
    fill_from_rest,
    format_time,
    order_from_rest,
    product_aliases,
    product_from_json,
    tradable,
)
from gpt_trader_coinbase.pause import PauseGate
from gpt_trader_coinbase.rest import RestClient, RestError
from gpt_trader_coinbase.spot.config import BrokerConfig, BrokerStats
from gpt_trader_coinbase.spot.orders import OrderCalls
from gpt_trader_coinbase.spot.reports import Reports
from gpt_trader_coinbase.spot.tracker import Tracked
from gpt_trader_coinbase.spot.user_channel import UserChannel
from gpt_trader_coinbase.stream import Subscription, WsStream
from gpt_trader_coinbase.target import Endpoints, SimLease

log = logging.getLogger("gpt_trader_coinbase.spot")
ZERO = Decimal(0)


class CoinbaseSpotBroker(OrderCalls, UserChannel, Reports):
    def __init__(
        self,
        rest: RestClient,
        endpoints: Endpoints,
        credentials: Credentials,
        config: BrokerConfig | None = None,
        *,
        lease: SimLease | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__()
        self.rest = rest
        self.endpoints = endpoints
        self.credentials = credentials
        self.config = config or BrokerConfig()
        self._lease = lease
        self._clock = clock or time.time_ns  # read now: a chaos run installs a virtual one
        self.stats = BrokerStats()
        self._listener: BrokerListener | None = None
        self._gate: PauseGate | None = None
        self._products: dict[str, Product] = {}
        self._resync_task: asyncio.Task[None] | None = None
        self._resync_again = False
        self._stream: WsStream | None = None
        self._started_ns = 0
        self._stopped = False
        self.user_connected = asyncio.Event()
        self.venue_ts = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, listener: BrokerListener) -> None:
        """Attach the listener and open the user channel. Delivers nothing by itself: the
        kernel reconciles (``order``, ``fills``, ``open_orders``) right after."""
        self._listener = listener
        self.malformed.listener = self.rest.malformed.listener = listener
        self._gate = PauseGate.for_listener(listener)
        self._started_ns = self._clock()
        self._stream = WsStream(
            self.endpoints.ws_user_url,
            subscriptions=[Subscription("heartbeats"), Subscription("user")],
            credentials=self.credentials,
            ssl_context=self.rest.ssl_context,
            session=self.rest.session,
            silence_s=self.config.user_silence_s,
            tick_s=1.0,
            name="user",
            malformed=self.malformed,
        )
        self._spawn(self._user_loop(), "coinbase-user")
        # Orders placed before the subscription is acknowledged would be heard of late.
        try:
            await asyncio.wait_for(self.user_connected.wait(), self.config.connect_wait_s)
        except TimeoutError:
            log.warning("user channel not connected yet; orders are followed over REST meanwhile")

    async def stop(self, drain_s: float = 3.0) -> None:
        """Deliver what is still in flight (bounded), then close everything."""
        if self._listener is not None and not self._stopped:
            try:
                await asyncio.wait_for(self._drain(), drain_s)
            except (TimeoutError, BrokerError) as exc:
                log.warning("stop: in-flight orders not all settled (%s)", type(exc).__name__)
        self._stopped = True
        if self._stream is not None:
            await self._stream.close()
        tasks = list(self._tasks) + list(self._sync_tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._sync_tasks.clear()
        if self._gate is not None:
            for key in list(self._gate.reasons):
                if key.startswith("user"):
                    self._gate.resume(key)
        self._listener = None
        await self.rest.close()
        if self._lease is not None:
            self._lease.release()

    async def _drain(self) -> None:
        """One pass over orders of this session not yet settled: venue state, then fills."""
        for cid in list(self._ambiguous):
            await self._lookup(cid)
        for tr in list(self._orders.values()):
            if tr.settled or (tr.request is None and not tr.venue.status.is_terminal):
                continue  # settled, or a resting order from elsewhere: nothing to drain
            raw = await self.rest.get_order(tr.order_id)
            with self._reading(f"order {tr.order_id}"):
                if raw is not None:
                    tr.update(order_from_rest(raw))
                if tr.missing > 0:
                    await self._sync_fills(tr)
            self._report(tr)

    # ------------------------------------------------------------------ reads

    async def products(self) -> list[Product]:
        out: dict[str, Product] = {}
        aliases: dict[str, str] = {}
        with self._reading("products"):
            for p in await self.rest.products():
                product = product_from_json(p)
                if product is None or not tradable(p):
                    continue
                out[product.symbol] = product
                for alias in product_aliases(p):
                    aliases[alias] = product.symbol
        # USDC books are the USD books: a listed alias, or one the universe asks for.
        for symbol in self.config.universe:
            if symbol in out:
                continue
            base, _, quote = symbol.partition("-")
            source = aliases.get(symbol) or (f"{base}-USD" if quote == "USDC" else "")
            if source in out:
                out[symbol] = alias_product(out[source], symbol)
        self._products = out
        return list(out.values())

    async def balances(self) -> list[Balance]:
        with self._reading("accounts"):
            return [balance_from_account(a) for a in await self.rest.accounts()]

    async def positions(self) -> list[Position]:
        balances = {b.currency: b for b in await self.balances()}
        out: list[Position] = []
        claimed: set[str] = set()
        for symbol in self.config.universe:
            base = symbol.partition("-")[0]
            if base in claimed:
                out.append(Position(symbol))
                continue
            claimed.add(base)
            out.append(Position(symbol, size=self._held(balances.get(base))))
        quote = self.config.quote_currency
        for currency, bal in sorted(balances.items()):
            if currency in claimed or currency in (quote, "USD", "USDC", "EUR", "GBP"):
                continue
            size = self._held(bal)
            if size:
                out.append(Position(f"{currency}-{quote}", size=size))
        return out

    def _held(self, bal: Balance | None) -> Decimal:
        if bal is None:
            return ZERO
        reserve = self.config.reserve.get(bal.currency, ZERO)
        return max(bal.total - reserve, ZERO)

    async def open_orders(self) -> list[Order]:
        raw = await self.rest.list_orders(order_status=list(WORKING_STATUSES))
        with self._reading("open orders"):
            orders = [self._track(order_from_rest(o)) for o in raw]
        return [self._view_of(tr) for tr in orders if self._in_scope(tr.symbol)]

    async def order(self, client_order_id: str) -> Order | None:
        """The venue's view of an order, its fills delivered first (see ``Tracked``).

        An order whose submit was ambiguous moments ago and is not found yet comes back
        UNKNOWN (still being resolved) rather than None (never placed).
        """
        with self._reading(f"order {client_order_id}"):
            tr = await self._lookup(client_order_id)
        if tr is None:
            until = self._ambiguous.get(client_order_id)
            if until is not None and time.monotonic() < until:
                req = self._requests.get(client_order_id)
                if req is not None:
                    pending = Order.from_request(req[0], req[1])
                    pending.status = OrderStatus.UNKNOWN
                    return pending
            return None
        if tr.missing > 0 and self._listener is not None:
            try:
                await self._sync_fills(tr)
            except RestError as exc:
                log.info("fills of %s not fetched yet: %s", client_order_id, exc)
                self._schedule_sync(tr)
        view = tr.view()
        tr.reported_key = Tracked.key_of(view)  # the caller (the kernel) applies it
        return view

    async def fills(self, since_ts: int = 0) -> list[Fill]:
        raw = await self.rest.list_fills(
            start_sequence_timestamp=format_time(since_ts) if since_ts else None
        )
        with self._reading("fills"):
            await self._learn_orders({str(f.get("order_id", "")) for f in raw})
            out = []
            for f in raw:
                tr = self._orders.get(str(f.get("order_id", "")))
                out.append(fill_from_rest(f, tr.client_order_id if tr else ""))
        out.sort(key=lambda fill: (fill.ts, fill.trade_id))
        return [f for f in out if self._in_scope(f.symbol)]
