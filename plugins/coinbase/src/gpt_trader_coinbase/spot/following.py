"""Following orders: what the broker knows of each order, and handing it to the listener.

Every order the broker hears of (its own submits, the user channel, REST) is a
:class:`~gpt_trader_coinbase.spot.tracker.Tracked`, keyed by venue order id. An order's
fills come only from REST; they are handed to the listener (``on_fill``) before the order
update that counts them (``on_order``), by the rule in the tracker module. Whether a fill
or an update is new to the kernel is the kernel's call (it applies each ``trade_id`` once);
the per-order record here is what keeps an order from being reported ahead of its fills.

Scope: the kernel only hears of orders and fills of the universe's products (``scoped``);
the CLI, which builds the broker unscoped, sees everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from gpt_trader.domain import Fill, Order, OrderRequest
from gpt_trader.protocols import BrokerListener

from gpt_trader_coinbase.convert import WireError, fill_from_rest, format_time, order_from_rest
from gpt_trader_coinbase.malformed import MalformedPayloads
from gpt_trader_coinbase.rest import RestClient, RestError
from gpt_trader_coinbase.spot.config import BrokerConfig, BrokerStats
from gpt_trader_coinbase.spot.tracker import Tracked

log = logging.getLogger("gpt_trader_coinbase.spot")
NS = 1_000_000_000
SYNC_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


class Following:
    """The order records and the delivery rule the other parts of the broker share."""

    rest: RestClient
    config: BrokerConfig
    stats: BrokerStats
    _clock: Callable[[], int]
    _listener: BrokerListener | None
    _stopped: bool

    def __init__(self) -> None:
        self.malformed = MalformedPayloads("coinbase.spot")
        self._orders: dict[str, Tracked] = {}
        self._by_cid: dict[str, str] = {}
        self._requests: dict[str, tuple[OrderRequest, int]] = {}
        self._ambiguous: dict[str, float] = {}  # cid -> until when "not found" is not final
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sync_tasks: dict[str, asyncio.Task[None]] = {}

    # The user channel's (:mod:`~gpt_trader_coinbase.spot.user_channel`): pause entries and
    # have the kernel reconcile.
    request_resync: Callable[[str], None]

    def _unreadable(self, where: str, exc: BaseException) -> None:
        """A payload about orders or fills that cannot be read: one line, counted, and, as
        what it said is now unknown, entries paused until a reconcile reads clean."""
        self.malformed.report(where, exc)
        self.request_resync(f"unreadable {where}")

    @contextlib.contextmanager
    def _reading(self, where: str) -> Iterator[None]:
        """Report a :class:`WireError` met inside (see :meth:`_unreadable`) and let it go on
        to the caller (the kernel's reconcile, which tries again)."""
        try:
            yield
        except WireError as exc:
            self._unreadable(where, exc)
            raise

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ records

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
            o.trade_ids = tuple(sorted(tr.fill_ids))
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

    def _prune(self, now: int) -> None:
        """Forget orders settled long ago (a fill listed that late is the kernel's to drop)."""
        horizon = now - int(max(3 * self.config.fills_window_s, 600) * NS)
        for oid, tr in list(self._orders.items()):
            if tr.settled and tr.venue.updated_ts and tr.venue.updated_ts < horizon:
                del self._orders[oid]
                if self._by_cid.get(tr.client_order_id) == oid:
                    del self._by_cid[tr.client_order_id]
                self._requests.pop(tr.client_order_id, None)

    # ------------------------------------------------------------------ delivery

    def _in_scope(self, symbol: str) -> bool:
        """Only the universe's products reach the kernel (see ``BrokerConfig.scoped``)."""
        return not self.config.scoped or not self.config.universe or symbol in self.config.universe

    def _take(self, fill: Fill, tr: Tracked) -> bool:
        """Count ``fill`` as handed over for ``tr``; False if it already was."""
        if fill.trade_id in tr.fill_ids:
            return False
        tr.fill_ids.add(fill.trade_id)
        tr.delivered += fill.size
        return True

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

    def _apply_fills(self, tr: Tracked, raw_fills: Iterable[Mapping[str, Any]]) -> None:
        fills = [fill_from_rest(f, tr.client_order_id) for f in raw_fills]
        fills.sort(key=lambda f: (f.ts, f.trade_id))
        listener = self._listener
        for fill in fills:
            new = bool(fill.trade_id) and self._take(fill, tr)
            if new and listener is not None and self._in_scope(fill.symbol):
                listener.on_fill(fill)

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
            except WireError as exc:
                tr.sync_failures += 1
                self._unreadable(f"fills of order {tr.client_order_id}", exc)
            self._report(tr)
        self._report(tr)
        if tr.missing > 0:
            log.warning(
                "order %s: %s filled at the venue but not in its fills yet; the reconcile will retry",
                tr.client_order_id,
                tr.missing,
            )
