"""``coinbase.spot``: the Broker protocol over Advanced Trade REST and the user channel.

Orders and fills reach the kernel (the :class:`BrokerListener` given to ``start``) from
three sources, merged by :class:`~gpt_trader_coinbase.spot.tracker.Tracked` so that every
exchange fill is delivered once, by its real ``trade_id``, before the order update that
carries it:

1. the user channel (cumulative order updates): an increase of ``cumulative_quantity``
   triggers a REST fetch of that order's fills (retried with backoff while REST lags);
2. resyncs, after a reconnect, a sequence gap or a silent channel: REST open orders and
   fills since the last reconcile; entries are paused (through the kernel's
   ``pause_entries``) until the resync succeeded;
3. a periodic reconcile (every ``reconcile_interval_s``) doing the same, which also finds
   orders that finished without a word on the stream; differences are logged and
   reported as ``on_order`` / ``on_fill``, position differences are logged.

Submits: a reply means OPEN (or REJECTED with the venue's reasons); a timeout, 5xx or a
dropped connection means UNKNOWN: the order is then looked up by ``client_order_id`` in
the background and by the kernel's timer, never sent again.

Scope: the kernel only hears of orders and fills of the universe's products (``scoped``);
the CLI, which builds the broker unscoped, sees everything.

Spot positions (``positions()``): the total (available + held) balance of each base
currency, minus the profile's ``reserve`` for it, attributed to the first universe product
with that base; other funded currencies are listed against the quote currency for the
CLI. Average entry prices are not derived (0 = unknown: the kernel keeps its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Balance, Fill, Order, OrderRequest, OrderStatus, Position, Product
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import BrokerListener, HoldingsListener

from gpt_trader_coinbase.auth import Credentials
from gpt_trader_coinbase.convert import (
    CANCELLABLE_STATUSES,
    WORKING_STATUSES,
    Unsupported,
    alias_product,
    balance_from_account,
    fill_from_rest,
    format_time,
    order_configuration,
    order_from_rest,
    order_from_ws,
    product_from_json,
    rejection_reason,
    text,
    tradable,
)
from gpt_trader_coinbase.pause import PauseGate
from gpt_trader_coinbase.rest import Ambiguous, RestClient, RestError
from gpt_trader_coinbase.spot.tracker import Tracked
from gpt_trader_coinbase.stream import Frame, Notice, Subscription, WsStream
from gpt_trader_coinbase.target import Endpoints, SimLease

log = logging.getLogger("gpt_trader_coinbase.spot")
ZERO = Decimal(0)
NS = 1_000_000_000
SYNC_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
RESOLVE_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class BrokerConfig:
    universe: tuple[str, ...] = ()
    quote_currency: str = "USD"
    reserve: Mapping[str, Decimal] = field(default_factory=dict)
    reconcile_interval_s: float = 15.0
    fills_window_s: float = 120.0
    user_silence_s: float = 10.0
    ambiguous_grace_s: float = 10.0
    ack_watch_s: float = 1.0
    # Orders and fills of products outside the universe (a manual order on another pair)
    # are none of the kernel's business: never reported, never adopted, never cancelled.
    scoped: bool = True
    connect_wait_s: float = 5.0
    cancel_batch: int = 100


@dataclass
class BrokerStats:
    submits: int = 0
    ambiguous_submits: int = 0
    rejected_submits: int = 0
    create_calls: dict[str, int] = field(default_factory=dict)
    fills_delivered: int = 0
    fills_recovered: int = 0
    orders_recovered: int = 0
    resyncs: int = 0
    resync_reasons: list[str] = field(default_factory=list)
    reconciles: int = 0
    position_mismatches: int = 0
    sync_fetches: int = 0


class CoinbaseSpotBroker:
    def __init__(
        self,
        rest: RestClient,
        endpoints: Endpoints,
        credentials: Credentials,
        config: BrokerConfig | None = None,
        *,
        lease: SimLease | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest
        self.endpoints = endpoints
        self.credentials = credentials
        self.config = config or BrokerConfig()
        self._lease = lease
        self._clock = clock
        self.stats = BrokerStats()
        self._listener: BrokerListener | None = None
        self._gate: PauseGate | None = None
        self._orders: dict[str, Tracked] = {}
        self._by_cid: dict[str, str] = {}
        self._requests: dict[str, tuple[OrderRequest, int]] = {}
        self._delivered: dict[str, int] = {}  # trade id -> fill ts
        self._ambiguous: dict[str, float] = {}  # cid -> until when "not found" is not final
        self._products: dict[str, Product] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sync_tasks: dict[str, asyncio.Task[None]] = {}
        self._resync_task: asyncio.Task[None] | None = None
        self._resync_again = False
        self._stream: WsStream | None = None
        self._started_ns = 0
        self._last_reconciled = 0
        self._stopped = False
        self.user_connected = asyncio.Event()
        # The venue's clock as its latest user-channel frame (heartbeats included) showed it.
        self.venue_ts = 0
        self._mismatches: set[tuple[str, Decimal, Decimal]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, listener: BrokerListener) -> None:
        """Attach the listener and open the user channel. Delivers nothing by itself: the
        kernel reconciles (``order``, ``fills``, ``open_orders``) right after."""
        self._listener = listener
        self._gate = PauseGate.for_listener(listener)
        self._started_ns = self._last_reconciled = self._clock()
        self._stream = WsStream(
            self.endpoints.ws_user_url,
            subscriptions=[Subscription("heartbeats"), Subscription("user")],
            credentials=self.credentials,
            ssl_context=self.rest.ssl_context,
            session=self.rest.session,
            silence_s=self.config.user_silence_s,
            tick_s=1.0,
            name="user",
        )
        self._spawn(self._user_loop(), "coinbase-user")
        self._spawn(self._reconcile_loop(), "coinbase-reconcile")
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
            if raw is not None:
                tr.update(order_from_rest(raw))
            if tr.missing > 0:
                await self._sync_fills(tr)
            self._report(tr)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ reads

    async def products(self) -> list[Product]:
        raw = await self.rest.products()
        out: dict[str, Product] = {}
        aliases: dict[str, str] = {}
        for p in raw:
            product = product_from_json(p)
            if product is None or not tradable(p):
                continue
            out[product.symbol] = product
            for alias in p.get("alias_to") or []:
                aliases[str(alias)] = product.symbol
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
        orders = [self._track(order_from_rest(o)) for o in raw]
        return [self._view_of(tr) for tr in orders if self._in_scope(tr.symbol)]

    async def order(self, client_order_id: str) -> Order | None:
        """The venue's view of an order, its fills delivered first (see ``Tracked``).

        An order whose submit was ambiguous moments ago and is not found yet comes back
        UNKNOWN (still being resolved) rather than None (never placed).
        """
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
        await self._learn_orders({str(f.get("order_id", "")) for f in raw})
        out = []
        for f in raw:
            tr = self._orders.get(str(f.get("order_id", "")))
            out.append(fill_from_rest(f, tr.client_order_id if tr else ""))
        out.sort(key=lambda fill: (fill.ts, fill.trade_id))
        return [f for f in out if self._in_scope(f.symbol)]

    # ------------------------------------------------------------------ trading

    async def submit(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        now = self._clock()
        self.stats.submits += 1
        try:
            body = self.order_body(request)
        except Unsupported as exc:
            return self._refused(request, now, f"UNSUPPORTED_ORDER_CONFIGURATION: {exc}")
        self._requests[cid] = (request, now)
        self.stats.create_calls[cid] = self.stats.create_calls.get(cid, 0) + 1
        try:
            reply = await self.rest.create_order(body)
        except Ambiguous as exc:
            self.stats.ambiguous_submits += 1
            # After a 5xx the venue is done with the request; after silence it may not be.
            grace = (
                min(1.0, self.config.ambiguous_grace_s)
                if exc.replied
                else self.config.ambiguous_grace_s
            )
            self._ambiguous[cid] = time.monotonic() + grace
            log.warning("submit %s: %s; resolving by client_order_id", cid, exc)
            self._spawn(self._resolve(cid), f"coinbase-resolve-{cid}")
            known = self._tracked_cid(cid)
            if known is not None:
                return self._view_of(known)
            order = Order.from_request(request, now)
            order.status = OrderStatus.UNKNOWN
            order.reject_reason = str(exc)
            return order
        except RestError as exc:
            # Certainly not placed (refused with a 4xx, or never reached the venue).
            return self._refused(request, now, str(exc))
        if not reply.get("success"):
            return self._refused(request, now, rejection_reason(reply))
        sr = reply.get("success_response") or {}
        order_id = str(sr.get("order_id") or reply.get("order_id") or "")
        tr = self._tracked_cid(cid)
        if tr is None and order_id:
            ack = Order.from_request(request, now)
            ack.status = OrderStatus.OPEN
            ack.order_id = order_id
            tr = self._track(ack)
            tr.heard = False
            if self._listener is not None:
                self._spawn(self._watch(tr), f"coinbase-watch-{cid}")
        if tr is None:
            return self._refused(request, now, "venue reply without an order id")
        tr.request = request
        view = tr.view()
        tr.reported_key = Tracked.key_of(view)
        return view

    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The ``POST /orders`` body; raises ``Unsupported`` for a request the venue has no
        configuration for."""
        return {
            "client_order_id": request.client_order_id,
            "product_id": request.symbol,
            "side": request.side.value,
            "order_configuration": order_configuration(request),
        }

    def _refused(self, request: OrderRequest, ts: int, reason: str) -> Order:
        self.stats.rejected_submits += 1
        order = Order.from_request(request, ts)
        order.status = OrderStatus.REJECTED
        order.reject_reason = reason
        return order

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        """Cancel by client order id, in batches of at most 100; True when the venue took
        the cancel (or the order is already being cancelled)."""
        result: dict[str, bool] = {}
        by_oid: dict[str, str] = {}
        for cid in client_order_ids:
            oid = self._by_cid.get(cid)
            if not oid:
                tr = await self._lookup(cid)
                oid = tr.order_id if tr is not None else ""
            if oid:
                by_oid[oid] = cid
            else:
                result[cid] = False
        oids = list(by_oid)
        step = max(1, min(self.config.cancel_batch, 100))
        for i in range(0, len(oids), step):
            batch = oids[i : i + step]
            try:
                answers = await self.rest.cancel_orders(batch)
            except RestError as exc:
                log.warning("cancel of %d order(s) failed: %s; checking each", len(batch), exc)
                answers = []
            seen = set()
            for ans in answers:
                oid = str(ans.get("order_id", ""))
                if oid not in by_oid:
                    continue
                seen.add(oid)
                reason = str(ans.get("failure_reason", ""))
                ok = bool(ans.get("success")) or reason == "DUPLICATE_CANCEL_REQUEST"
                result[by_oid[oid]] = ok
            for oid in batch:
                if oid not in seen:
                    result[by_oid[oid]] = await self._is_cancelled(oid)
        return {cid: result.get(cid, False) for cid in client_order_ids}

    async def _is_cancelled(self, order_id: str) -> bool:
        try:
            raw = await self.rest.get_order(order_id)
        except RestError:
            return False
        if raw is None:
            return False
        return str(raw.get("status")) in ("CANCELLED", "CANCEL_QUEUED") or bool(
            raw.get("pending_cancel")
        )

    async def cancel_all(self, symbols: Iterable[str] | None = None) -> dict[str, bool]:
        """Every cancellable order (OPEN, PENDING, QUEUED, EDIT_QUEUED), optionally by symbol."""
        wanted = set(symbols) if symbols else None
        raw = await self.rest.list_orders(order_status=list(CANCELLABLE_STATUSES))
        cids = []
        for o in raw:
            order = order_from_rest(o)
            if wanted is None or order.symbol in wanted:
                self._track(order)
                cids.append(order.client_order_id)
        return await self.cancel(cids) if cids else {}

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        tr = await self._lookup(client_order_id)
        if tr is None:
            raise BrokerError(f"edit {client_order_id}: no such order at the venue")
        current = tr.venue
        new_price = price if price is not None else current.limit_price
        new_size = size if size is not None else current.size
        if new_price is None:
            raise BrokerError(f"edit {client_order_id}: only limit orders can be edited")
        try:
            reply = await self.rest.edit_order(
                tr.order_id, price=text(new_price), size=text(new_size)
            )
        except Ambiguous as exc:
            raise BrokerError(
                f"edit {client_order_id}: outcome unknown ({exc}); check the order"
            ) from None
        except RestError as exc:
            raise BrokerError(f"edit {client_order_id}: {exc}") from None
        if not reply.get("success"):
            reasons = []
            for err in reply.get("errors") or []:
                for key in ("edit_failure_reason", "preview_failure_reason"):
                    value = str(err.get(key) or "")
                    if value and not value.startswith("UNKNOWN_"):
                        reasons.append(value)
            raise BrokerError(
                f"edit {client_order_id} refused: {', '.join(reasons) or 'unknown reason'}"
            )
        raw = await self.rest.get_order(tr.order_id)
        if raw is not None:
            tr.update(order_from_rest(raw))
        return self._view_of(tr)

    # ------------------------------------------------------------------ tracking

    def _track(self, order: Order) -> Tracked:
        oid = order.order_id
        tr = self._orders.get(oid)
        if tr is None:
            tr = self._orders[oid] = Tracked(oid, order.client_order_id, order.symbol, order)
            req = self._requests.get(order.client_order_id)
            if req is not None:
                tr.request = req[0]
        else:
            tr.update(order)
        if order.client_order_id:
            self._by_cid[order.client_order_id] = oid
            self._ambiguous.pop(order.client_order_id, None)
        return tr

    def _tracked_cid(self, cid: str) -> Tracked | None:
        oid = self._by_cid.get(cid)
        return self._orders.get(oid) if oid else None

    def _view_of(self, tr: Tracked) -> Order:
        """A view for a caller that is not the listener (CLI): uncapped without a listener."""
        if self._listener is None:
            o = tr.venue.copy()
            o.trade_ids = sorted(tr.fill_ids)
            return o
        return tr.view()

    async def _lookup(self, cid: str) -> Tracked | None:
        """Find an order by client order id: known venue id, then the (deprecated) client
        id lookup, then a scan of recent orders."""
        oid = self._by_cid.get(cid)
        raw = await self.rest.get_order(oid) if oid else None
        scan = False
        if raw is None:
            try:
                reply = await self.rest.get(f"/orders/historical/{cid}", {"client_order_id": cid})
            except RestError as exc:
                if exc.status not in (400, 404):
                    raise
                reply = {}
                scan = exc.status == 400  # the lookup itself is refused: search instead
            found = reply.get("order")
            if isinstance(found, dict) and str(found.get("client_order_id", "")) == cid:
                raw = found
        if raw is None and scan:
            req = self._requests.get(cid)
            start = (req[1] if req else self._clock() - 86_400 * NS) - 300 * NS
            for o in await self.rest.list_orders(start_date=format_time(max(start, 0))):
                if str(o.get("client_order_id", "")) == cid:
                    raw = o
                    break
        if raw is None:
            return None
        return self._track(order_from_rest(raw))

    async def _learn_orders(self, order_ids: set[str]) -> None:
        """Make sure every order id is tracked (their client ids are needed for fills)."""
        unknown = sorted(oid for oid in order_ids if oid and oid not in self._orders)
        for i in range(0, len(unknown), 50):
            chunk = unknown[i : i + 50]
            for o in await self.rest.list_orders(order_ids=chunk):
                self._track(order_from_rest(o))
            for oid in chunk:
                if oid not in self._orders:
                    raw = await self.rest.get_order(oid)
                    if raw is not None:
                        self._track(order_from_rest(raw))

    # ------------------------------------------------------------------ delivery

    def _deliver_fill(self, fill: Fill, tr: Tracked) -> bool:
        if fill.trade_id in self._delivered or fill.trade_id in tr.fill_ids:
            return False
        tr.fill_ids.add(fill.trade_id)
        tr.delivered += fill.size
        self._delivered[fill.trade_id] = fill.ts
        listener = self._listener
        if listener is not None and self._in_scope(fill.symbol):
            self.stats.fills_delivered += 1
            listener.on_fill(fill)
        return True

    def _in_scope(self, symbol: str) -> bool:
        """Only the universe's products reach the kernel (see ``BrokerConfig.scoped``)."""
        return not self.config.scoped or not self.config.universe or symbol in self.config.universe

    def _report(self, tr: Tracked) -> None:
        listener = self._listener
        if listener is None or not self._in_scope(tr.symbol):
            return
        view = tr.view()
        key = Tracked.key_of(view)
        if key == tr.reported_key:
            return
        tr.reported_key = key
        listener.on_order(view)

    def _apply_fills(self, tr: Tracked, raw_fills: Iterable[Mapping[str, Any]]) -> int:
        fills = [fill_from_rest(f, tr.client_order_id) for f in raw_fills]
        fills.sort(key=lambda f: (f.ts, f.trade_id))
        return sum(1 for f in fills if f.trade_id and self._deliver_fill(f, tr))

    async def _sync_fills(self, tr: Tracked) -> None:
        """Fetch and deliver this order's fills (one REST call, retried inside)."""
        self.stats.sync_fetches += 1
        raw = await self.rest.list_fills(order_ids=[tr.order_id])
        self._apply_fills(tr, raw)

    def _schedule_sync(self, tr: Tracked) -> None:
        if tr.order_id in self._sync_tasks or self._stopped:
            return
        task = asyncio.create_task(self._sync_loop(tr), name=f"coinbase-fills-{tr.order_id}")
        self._sync_tasks[tr.order_id] = task
        task.add_done_callback(functools.partial(self._sync_done, tr.order_id))

    def _sync_done(self, order_id: str, _task: asyncio.Task[None]) -> None:
        self._sync_tasks.pop(order_id, None)

    async def _sync_loop(self, tr: Tracked) -> None:
        for delay in (0.0, *SYNC_DELAYS):
            if delay:
                await asyncio.sleep(delay)
            if tr.missing <= 0:
                break
            try:
                await self._sync_fills(tr)
            except RestError as exc:
                tr.sync_failures += 1
                log.info("fills of %s not fetched yet: %s", tr.client_order_id, exc)
            self._report(tr)
        self._report(tr)
        if tr.missing > 0:
            log.warning(
                "order %s: %s filled at the venue but not in its fills yet; the reconcile will retry",
                tr.client_order_id,
                tr.missing,
            )

    def _on_ws_order(self, body: Mapping[str, Any], ts: int) -> None:
        try:
            order = order_from_ws(body, ts)
        except (ValueError, KeyError) as exc:
            log.warning("unreadable user-channel order: %s", exc)
            return
        if not order.order_id:
            return
        stranger = (
            order.order_id not in self._orders and order.client_order_id not in self._requests
        )
        tr = self._track(order)
        if stranger and self._listener is not None:
            # Not ours (a liquidation, a settlement, a manual order): REST says which.
            self._spawn(self._describe(tr), f"coinbase-describe-{order.order_id}")
        if tr.missing > 0:
            self._schedule_sync(tr)
            self._report(tr)  # capped: still working until its fills are in
        else:
            self._report(tr)

    async def _describe(self, tr: Tracked) -> None:
        try:
            raw = await self.rest.get_order(tr.order_id)
        except RestError as exc:
            log.info("order %s not described yet: %s", tr.order_id, exc)
            return
        if raw is not None:
            tr.update(order_from_rest(raw))
            self._report(tr)

    # ------------------------------------------------------------------ the user channel

    async def _user_loop(self) -> None:
        while not self._stopped:
            try:
                await self._consume_user()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user channel loop failed; restarting it")
                self.request_resync("user channel loop restarted")
                await asyncio.sleep(1.0)

    async def _consume_user(self) -> None:
        assert self._stream is not None
        async for item in self._stream.items():
            if isinstance(item, Frame):
                self.venue_ts = max(self.venue_ts, item.ts)
                if item.channel == "user":
                    for ev in item.events:
                        for body in ev.get("orders") or []:
                            if isinstance(body, dict):
                                self._on_ws_order(body, item.ts)
                elif item.channel == "subscriptions":
                    self.user_connected.set()
                    resyncing = self._resync_task is not None and not self._resync_task.done()
                    if self._gate is not None and not resyncing:
                        self._gate.resume("user")
            elif isinstance(item, Notice):
                if item.kind == "connected" and item.connection > 1:
                    self.request_resync(f"user channel reconnected (#{item.connection})")
                elif item.kind == "gap":
                    self.request_resync("user channel sequence gap")
                elif item.kind == "silence":
                    self.request_resync("user channel silent")
                elif item.kind == "disconnected":
                    self.user_connected.clear()
                    log.info("user channel disconnected (%s)", item.detail)
                    if self._gate is not None and not self._stopped:
                        # Blind to order updates until the reconnect's resync is done.
                        self._gate.pause("user", "user channel disconnected")

    def request_resync(self, reason: str) -> None:
        """Pause entries and reconcile over REST (again, if one is already running)."""
        if self._stopped:
            return
        self.stats.resyncs += 1
        self.stats.resync_reasons.append(reason)
        log.warning("resync: %s", reason)
        if self._gate is not None:
            self._gate.pause("user", reason)
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_again = True
            return
        self._resync_task = self._spawn(self._resync_loop(), "coinbase-resync")

    async def _resync_loop(self) -> None:
        attempt = 0
        while not self._stopped:
            self._resync_again = False
            try:
                await self.reconcile_once()
            except (BrokerError, ValueError) as exc:
                attempt += 1
                delay = min(5.0, 0.2 * 2**attempt)
                log.warning("resync failed (%s); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            if not self._resync_again:
                break
        if self._gate is not None and self.user_connected.is_set():
            self._gate.resume("user")  # else the reconnect's own resync will

    async def _reconcile_loop(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.config.reconcile_interval_s)
            if self._resync_task is not None and not self._resync_task.done():
                continue
            try:
                await self.reconcile_once()
            except (BrokerError, ValueError) as exc:
                log.warning("periodic reconcile failed: %s", exc)

    async def reconcile_once(self) -> None:
        """Venue vs what was delivered: missing fills, orders that moved, stray orders."""
        self.stats.reconciles += 1
        now = self._clock()
        window = int(self.config.fills_window_s * NS)
        # Back to the last good reconcile (with an overlap), however long ago that was.
        since = max(self._started_ns, min(now - window, self._last_reconciled - window))
        raw_fills = await self.rest.list_fills(start_sequence_timestamp=format_time(since))
        missing = [f for f in raw_fills if str(f.get("trade_id", "")) not in self._delivered]
        await self._learn_orders({str(f.get("order_id", "")) for f in missing})
        touched: dict[str, Tracked] = {}
        by_order: dict[str, list[Mapping[str, Any]]] = {}
        for f in missing:
            by_order.setdefault(str(f.get("order_id", "")), []).append(f)
        for oid, group in by_order.items():
            tr = self._orders.get(oid)
            if tr is None:
                continue
            n = self._apply_fills(tr, group)
            if n:
                self.stats.fills_recovered += n
                log.warning(
                    "reconcile: %d fill(s) of %s were missing; delivered", n, tr.client_order_id
                )
                touched[oid] = tr
        raw_open = await self.rest.list_orders(order_status=list(WORKING_STATUSES))
        open_ids = set()
        for o in raw_open:
            order = order_from_rest(o)
            open_ids.add(order.order_id)
            known = order.order_id in self._orders
            tr = self._track(order)
            if not known:
                self.stats.orders_recovered += 1
                log.warning(
                    "reconcile: open order %s was not known; adopted", order.client_order_id
                )
            touched[order.order_id] = tr
        for oid, tr in list(self._orders.items()):
            if oid in open_ids or (tr.venue.status.is_terminal and tr.missing <= 0):
                continue
            raw = await self.rest.get_order(oid)
            if raw is None:
                continue
            order = order_from_rest(raw)
            if tr.update(order) and order.status.is_terminal:
                self.stats.orders_recovered += 1
                log.warning(
                    "reconcile: %s is %s at the venue", tr.client_order_id, order.status.value
                )
            touched[oid] = tr
        for tr in touched.values():
            if tr.missing > 0:
                try:
                    await self._sync_fills(tr)
                except RestError as exc:
                    log.info("reconcile: fills of %s not fetched: %s", tr.client_order_id, exc)
            self._report(tr)
        await self._check_positions()
        self._prune(now)
        self._last_reconciled = now

    async def _check_positions(self) -> None:
        """With no fill in flight: tell the kernel what the account holds of each spot
        product (it keeps its own inventory and only ever shrinks it to that), and log a
        difference between the kernel's positions and the venue's that outlives one
        reconcile (a fill in flight explains a passing one)."""
        mine = getattr(self._listener, "positions", None)
        in_flight = self._ambiguous or any(
            tr.missing > 0 or not tr.heard for tr in self._orders.values()
        )
        if not isinstance(mine, Mapping) or in_flight:
            self._mismatches = set()
            return
        seen = (self.stats.submits, self.stats.fills_delivered)
        venue = await self.positions()
        if (self.stats.submits, self.stats.fills_delivered) != seen:
            return  # an order or a fill moved while the balances were read: next time
        spot = {
            p.symbol
            for p in venue
            if (product := self._products.get(p.symbol)) is not None and not product.is_derivative
        }
        if isinstance(self._listener, HoldingsListener):
            for pos in venue:
                if pos.symbol in spot and pos.symbol in self.config.universe:
                    self._listener.on_account_holding(pos.symbol, pos.size)
        now: set[tuple[str, Decimal, Decimal]] = set()
        for pos in venue:
            if pos.symbol in spot:
                continue  # a spot balance is the account's, not the bot's: the kernel judges
            have = mine.get(pos.symbol)
            size = getattr(have, "size", None)
            if isinstance(size, Decimal) and size != pos.size:
                now.add((pos.symbol, size, pos.size))
        for symbol, here, venue in sorted(now & self._mismatches):
            self.stats.position_mismatches += 1
            log.warning(
                "reconcile: position %s is %s here but %s at the venue", symbol, here, venue
            )
        self._mismatches = now

    def _prune(self, now: int) -> None:
        horizon = now - int(max(3 * self.config.fills_window_s, 600) * NS)
        for oid, tr in list(self._orders.items()):
            if tr.settled and tr.venue.updated_ts and tr.venue.updated_ts < horizon:
                del self._orders[oid]
                if self._by_cid.get(tr.client_order_id) == oid:
                    del self._by_cid[tr.client_order_id]
                self._requests.pop(tr.client_order_id, None)
        for trade_id, ts in list(self._delivered.items()):
            if ts < horizon:
                del self._delivered[trade_id]

    async def _watch(self, tr: Tracked) -> None:
        """An acknowledged order the user channel stays silent about is looked up."""
        for delay in (
            self.config.ack_watch_s,
            2 * self.config.ack_watch_s,
            4 * self.config.ack_watch_s,
        ):
            await asyncio.sleep(delay)
            if tr.heard:
                return
            try:
                raw = await self.rest.get_order(tr.order_id)
            except RestError:
                continue
            if raw is not None:
                tr.update(order_from_rest(raw))
                if tr.missing > 0:
                    self._schedule_sync(tr)
                self._report(tr)
                return

    async def _resolve(self, cid: str) -> None:
        """After an ambiguous submit: look the order up until it is found (or time is up)."""
        for delay in RESOLVE_DELAYS:
            await asyncio.sleep(delay)
            tr = self._tracked_cid(cid)
            if tr is None:
                try:
                    tr = await self._lookup(cid)
                except RestError:
                    continue
            if tr is not None:
                if tr.missing > 0:
                    self._schedule_sync(tr)
                self._report(tr)
                return
        log.warning("submit %s: not found at the venue after the ambiguous reply", cid)
