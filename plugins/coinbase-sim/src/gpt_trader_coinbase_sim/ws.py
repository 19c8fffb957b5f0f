"""WebSocket endpoints: the market socket (/ws, every channel) and the user socket (/ws/user).

Every frame goes through one writer task per connection, which numbers it: ``sequence_num``
is per connection, from 0, contiguous across all channels (live behaviour, coinbase-api.md
§4.4) unless a fault skips one. Error frames are bare ``{"type":"error",...}``.

A USDC alias is distinct only on ``user`` (its orders carry ``BTC-USDC``); the market-data
channels serve the USD book it aliases: a ``BTC-USDC`` subscription is one to ``BTC-USD``,
acknowledged and streamed as ``BTC-USD`` (coinbase-api.md §4.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web
from gpt_trader.domain import Order

from gpt_trader_coinbase_sim.auth import AuthError, Principal
from gpt_trader_coinbase_sim.faults import WsFaultStream
from gpt_trader_coinbase_sim.mangle import mangle
from gpt_trader_coinbase_sim.market import LevelChange, Print, ProductMarket, diff_levels
from gpt_trader_coinbase_sim.shapes import (
    ws_candle,
    ws_l2_updates,
    ws_status_product,
    ws_ticker,
    ws_trade,
    ws_user_order,
)
from gpt_trader_coinbase_sim.shapes_derivatives import fcm_fields
from gpt_trader_coinbase_sim.state import SimState, log
from gpt_trader_coinbase_sim.wire import go_time, rfc3339

MARKET_CHANNELS = frozenset(
    {
        "heartbeats",
        "status",
        "ticker",
        "ticker_batch",
        "level2",
        "market_trades",
        "candles",
        "user",
        "futures_balance_summary",
    }
)
USER_CHANNELS = frozenset({"heartbeats", "user", "futures_balance_summary"})
AUTH_CHANNELS = frozenset({"user", "futures_balance_summary"})
PRODUCT_CHANNELS = frozenset({"ticker", "ticker_batch", "level2", "market_trades", "candles"})
# A "stall" fault stops market data only: heartbeats and the account channels go on.
STALL_EXEMPT = frozenset({"heartbeats", "user", "futures_balance_summary"})
# The channel name a subscription's frames carry (level2 arrives as l2_data).
FRAME_CHANNEL = {"level2": "l2_data"}

AUTH_FAILURE = {"type": "error", "message": "authentication failure"}
SUBSCRIBE_FAILURE = {"type": "error", "message": "failure to subscribe"}
QUEUE_MAX = 20_000  # a consumer this far behind is cut off, as the venue does
USER_BATCH = 50
CANDLE_NS = 300 * 1_000_000_000
EMPTY_POSITIONS = {"perpetual_futures_positions": [], "expiring_futures_positions": []}


@dataclass(frozen=True)
class WsTimeouts:
    subscribe_s: float = 5.0  # connections that have not subscribed by then are closed
    idle_s: float = 60.0  # channels without heartbeats close after this long without frames


class _Raw:
    """A frame sent as is: no envelope, no sequence number (error frames)."""

    __slots__ = ("payload",)

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload


class Connection:
    def __init__(
        self, hub: Hub, ws: web.WebSocketResponse, request: web.Request, user_only: bool
    ) -> None:
        self.hub = hub
        self.ws = ws
        self.request = request
        self.user_only = user_only
        self.subs: dict[str, set[str]] = {}
        self.principal: Principal | None = None
        self.faults: WsFaultStream = hub.state.faults.ws_stream()
        self.queue: asyncio.Queue[tuple[str, list[Any]] | _Raw | None] = asyncio.Queue()
        self.seq = 0
        self.opened = time.monotonic()
        self.last_frame = time.monotonic()
        self.ever_subscribed = False
        self.closing = False

    # -- queueing (sync: called from venue listeners and the market driver) --------------

    def send(self, channel: str, events: list[Any]) -> None:
        if self.closing:
            return
        if self.queue.qsize() >= QUEUE_MAX:
            log.warning("ws consumer too slow; closing")
            self.closing = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait((channel, events))

    def send_raw(self, payload: dict[str, Any]) -> None:
        if not self.closing:
            self.queue.put_nowait(_Raw(payload))

    def subscribed(self, channel: str, symbol: str | None = None) -> bool:
        prods = self.subs.get(channel)
        if prods is None:
            return False
        if symbol is None or channel in ("user", "heartbeats", "futures_balance_summary"):
            # user: an empty product list means every product
            return channel != "user" or symbol is None or not prods or symbol in prods
        return symbol in prods

    # -- the writer: numbering and frame faults ------------------------------------------

    def _envelope(self, channel: str, events: list[Any]) -> str:
        frame = {
            "channel": channel,
            "client_id": "",
            "timestamp": rfc3339(self.hub.state.clock.now_ns(), nanos=True),
            "sequence_num": self.seq,
            "events": events,
        }
        self.seq += 1
        return json.dumps(frame, separators=(",", ":"))

    async def writer(self) -> None:
        held: str | None = None
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    await self.ws.close()
                    return
                if isinstance(item, _Raw):
                    await self.ws.send_str(json.dumps(item.payload, separators=(",", ":")))
                    continue
                text = self._envelope(*item)
                fault = self.faults.next()
                if fault.kind == "drop":
                    # Torn down, no close frame: the client sees an abnormal closure (1006).
                    self.closing = True
                    if self.request.transport is not None:
                        self.request.transport.abort()
                    return
                if fault.kind == "1001":
                    self.closing = True
                    await self.ws.close(code=1001, message=b"going away")
                    return
                if fault.kind == "gap":
                    continue  # swallowed: its sequence number is never seen
                if fault.malformed:
                    text = mangle(json.loads(text), fault.malformed, self.faults.spoil_rng)
                if fault.kind == "reorder" and held is None:
                    held = text
                    continue
                await self.ws.send_str(text)
                if fault.kind == "dup":
                    await self.ws.send_str(text)
                if held is not None:
                    await self.ws.send_str(held)
                    held = None
                self.last_frame = time.monotonic()
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            # RuntimeError: aiohttp refuses writes on a closing socket.
            self.closing = True
            raise

    async def watchdog(self, timeouts: WsTimeouts) -> None:
        while not self.ws.closed:
            await asyncio.sleep(min(0.5, timeouts.subscribe_s / 2))
            now = time.monotonic()
            if not self.ever_subscribed and now - self.opened > timeouts.subscribe_s:
                await self._close(1000, b"subscribe timeout")
                return
            idle = self.ever_subscribed and "heartbeats" not in self.subs
            if idle and now - self.last_frame > timeouts.idle_s:
                await self._close(1000, b"idle")
                return

    async def _close(self, code: int, reason: bytes) -> None:
        self.closing = True
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await self.ws.close(code=code, message=reason)


class Hub:
    """All connections, and the fan-out of market and user events to them."""

    def __init__(self, state: SimState, timeouts: WsTimeouts | None = None) -> None:
        self.state = state
        self.timeouts = timeouts or WsTimeouts()
        # In the order they connected (a dict, not a set: a set of objects iterates in the
        # order of their addresses, and the same seed must fan out in the same order).
        self.conns: dict[Connection, None] = {}
        self.heartbeat_counter = 0
        self.published_l2: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        self.last_batch: dict[str, str] = {}
        self.last_fcm = ""
        self._started = time.monotonic()

    # -- fan-out ---------------------------------------------------------------------

    def _targets(self, channel: str, symbol: str | None) -> Iterable[Connection]:
        return [c for c in self.conns if c.subscribed(channel, symbol)]

    def publish(self, channel: str, symbol: str | None, events: list[Any]) -> None:
        if channel not in STALL_EXEMPT and self.state.faults.stalled():
            return  # a stalled feed: market data stops; heartbeats and account data go on
        frame_channel = FRAME_CHANNEL.get(channel, channel)
        for conn in self._targets(channel, symbol):
            conn.send(frame_channel, events)

    def heartbeat(self) -> None:
        self.heartbeat_counter += 1
        t = self.state.clock.now_ns()
        event = {
            "current_time": go_time(t, time.monotonic() - self._started),
            "heartbeat_counter": self.heartbeat_counter,
        }
        self.publish("heartbeats", None, [event])
        self.futures_summary_tick()

    def market_step(
        self, m: ProductMarket, prints: list[Print], *, refresh_book: bool = True
    ) -> None:
        """After the driver moved ``m``: level2 diff, ticker, trades, candle update."""
        symbol = m.symbol
        if refresh_book:
            self.refresh_l2(symbol)
        if not prints:
            return
        stats = m.stats(self.state.clock.now_ns())
        bids, asks = self.state.book(symbol, 1)
        tick = ws_ticker(symbol, stats, bids[0] if bids else None, asks[0] if asks else None)
        self.publish("ticker", symbol, [{"type": "update", "tickers": [tick]}])
        trades = [ws_trade(p) for p in reversed(prints)]
        self.publish("market_trades", symbol, [{"type": "update", "trades": trades}])
        bar = self._candle(m)
        if bar is not None:
            self.publish("candles", symbol, [{"type": "update", "candles": [bar]}])

    def ticker_batch(self) -> None:
        """Every 5 s: the ticker without best bid/ask, only for products that changed."""
        for symbol, m in self.state.markets.items():
            tick = ws_ticker(symbol, m.stats(self.state.clock.now_ns()), None, None, batch=True)
            key = json.dumps(tick, sort_keys=True)
            if self.last_batch.get(symbol) == key:
                continue
            self.last_batch[symbol] = key
            self.publish("ticker_batch", symbol, [{"type": "update", "tickers": [tick]}])

    def refresh_l2(self, symbol: str) -> None:
        bids, asks = self.state.book(symbol)
        new_b, new_a = dict(bids), dict(asks)
        old_b, old_a = self.published_l2.get(symbol, ({}, {}))
        changes = diff_levels("bid", old_b, new_b) + diff_levels("ask", old_a, new_a)
        self.published_l2[symbol] = (new_b, new_a)
        if changes:
            ts = self.state.markets[symbol].book_ts or self.state.clock.now_ns()
            event = {"type": "update", "product_id": symbol, "updates": ws_l2_updates(changes, ts)}
            self.publish("level2", symbol, [event])

    def on_order(self, order: Order) -> None:
        state = self.state
        meta = state.metas.get(order.order_id)
        ptype = state.product_type(order.symbol)
        body = ws_user_order(
            order,
            meta,
            state.ident,
            product_type=ptype,
            value=state.venue.filled_value(order),
            hold=state.venue.hold(order),
        )
        self.publish("user", order.symbol, [{"type": "update", "orders": [body]}])
        book = state.venue.book_symbol(order.symbol)
        if book in state.markets:
            self.refresh_l2(book)
        if state.venue.spec(order.symbol) is not None:
            self.futures_summary_tick()

    # -- snapshots -------------------------------------------------------------------

    def _candle(self, m: ProductMarket) -> dict[str, str] | None:
        t = self.state.clock.now_ns()
        bars = m.candles(t - CANDLE_NS, t, 300)
        return ws_candle(bars[0], m.symbol) if bars else None

    def _snapshot(self, conn: Connection, channel: str, products: list[str]) -> None:
        state = self.state
        fc = FRAME_CHANNEL.get(channel, channel)
        if channel == "level2":
            for s in products:
                bids, asks = state.book(s)
                self.published_l2.setdefault(s, (dict(bids), dict(asks)))
                b, a = self.published_l2[s]
                levels = [LevelChange("bid", px, sz) for px, sz in sorted(b.items(), reverse=True)]
                levels += [LevelChange("ask", px, sz) for px, sz in sorted(a.items())]
                ts = state.markets[s].book_ts or state.clock.now_ns()
                ev = {"type": "snapshot", "product_id": s, "updates": ws_l2_updates(levels, ts)}
                conn.send(fc, [ev])
        elif channel in ("ticker", "ticker_batch"):
            for s in products:
                m = state.markets[s]
                bids, asks = state.book(s, 1)
                tick = ws_ticker(
                    s,
                    m.stats(state.clock.now_ns()),
                    bids[0] if bids else None,
                    asks[0] if asks else None,
                    batch=channel == "ticker_batch",
                )
                conn.send(fc, [{"type": "snapshot", "tickers": [tick]}])
        elif channel == "market_trades":
            trades = [ws_trade(p) for s in products for p in state.markets[s].trades(50)]
            conn.send(fc, [{"type": "snapshot", "trades": trades}])
        elif channel == "candles":
            t = state.clock.now_ns()
            bars = [
                ws_candle(b, s)
                for s in products
                for b in state.markets[s].candles(t - 10 * CANDLE_NS, t, 300)
            ]
            conn.send(fc, [{"type": "snapshot", "candles": bars}])
        elif channel == "status":
            prods = [ws_status_product(state.products[s]) for s in products]
            conn.send(fc, [{"type": "snapshot", "products": prods}])
        elif channel == "user":
            self._user_snapshot(conn, products)
        elif channel == "futures_balance_summary":
            conn.send(fc, [{"type": "snapshot", "fcm_balance_summary": self._fcm_summary()}])

    def _user_snapshot(self, conn: Connection, products: list[str]) -> None:
        state = self.state
        orders = [
            o
            for o in state.venue.orders()
            if not o.status.is_terminal and (not products or o.symbol in products)
        ]
        bodies = [
            ws_user_order(
                o,
                state.metas.get(o.order_id),
                state.ident,
                product_type=state.product_type(o.symbol),
                value=state.venue.filled_value(o),
                hold=state.venue.hold(o),
            )
            for o in orders
        ]
        chunks = [bodies[i : i + USER_BATCH] for i in range(0, len(bodies), USER_BATCH)] or [[]]
        if len(chunks[-1]) == USER_BATCH:
            chunks.append([])  # the first batch under 50 ends the snapshot
        for i, chunk in enumerate(chunks):
            ev: dict[str, Any] = {"type": "snapshot" if i == 0 else "update", "orders": chunk}
            if i == 0:
                ev["positions"] = EMPTY_POSITIONS
            conn.send("user", [ev])

    def _fcm_summary(self) -> dict[str, Any]:
        return fcm_fields(self.state.venue, rest=False)

    def futures_summary_tick(self) -> None:
        """Publish a futures_balance_summary update when the figures changed since the last
        one (fills, funding, liquidation, and unrealised P&L as marks move)."""
        if not any(c.subscribed("futures_balance_summary") for c in self.conns):
            return
        summary = self._fcm_summary()
        key = json.dumps(summary, sort_keys=True)
        if key == self.last_fcm:
            return
        self.last_fcm = key
        event = {"type": "update", "fcm_balance_summary": summary}
        self.publish("futures_balance_summary", None, [event])

    # -- subscribe / unsubscribe -------------------------------------------------------

    def _ack(self, conn: Connection) -> None:
        subs: dict[str, list[str]] = {}
        for channel, prods in conn.subs.items():
            if channel == "heartbeats":
                subs[channel] = ["heartbeats"]
            elif channel == "user" or channel == "futures_balance_summary":
                subs[channel] = [self.state.ident.user_id]
            else:
                subs[channel] = sorted(prods)
        conn.send("subscriptions", [{"subscriptions": subs}])

    def handle(self, conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            conn.send_raw(SUBSCRIBE_FAILURE)
            return
        if not isinstance(msg, dict):
            conn.send_raw(SUBSCRIBE_FAILURE)
            return
        kind = msg.get("type")
        channel = msg.get("channel")
        products = msg.get("product_ids", [])
        allowed = USER_CHANNELS if conn.user_only else MARKET_CHANNELS
        valid = (
            kind in ("subscribe", "unsubscribe")
            and isinstance(channel, str)
            and channel in allowed
            and isinstance(products, list)
            and all(isinstance(p, str) for p in products)
        )
        if not valid:
            conn.send_raw(SUBSCRIBE_FAILURE)
            return
        token = msg.get("jwt")
        if token is not None or channel in AUTH_CHANNELS:
            if not isinstance(token, str):
                conn.send_raw(AUTH_FAILURE)
                return
            try:
                conn.principal = self.state.verifier.verify(token)
            except AuthError as e:
                log.debug("ws auth failure: %s", e)
                conn.send_raw(AUTH_FAILURE)
                return
        if channel in ("heartbeats", "futures_balance_summary"):
            products = []
        unknown = [p for p in products if p not in self.state.products]
        if unknown or (kind == "subscribe" and channel in PRODUCT_CHANNELS and not products):
            conn.send_raw(SUBSCRIBE_FAILURE)
            return
        if channel in PRODUCT_CHANNELS:
            products = list(dict.fromkeys(self.state.venue.book_symbol(p) for p in products))
        if kind == "subscribe":
            if channel == "status" and not products:
                products = list(self.state.products)
            first = channel not in conn.subs
            current = conn.subs.setdefault(channel, set())
            fresh = [p for p in products if p not in current]
            current.update(products)
            conn.ever_subscribed = True
            if channel in PRODUCT_CHANNELS or channel == "status":
                if fresh:
                    self._snapshot(conn, channel, fresh)
            elif channel in AUTH_CHANNELS and first:
                self._snapshot(conn, channel, products)
        elif channel in conn.subs:
            remaining = conn.subs[channel]
            remaining.difference_update(products)
            if not products or not remaining:
                del conn.subs[channel]
        self._ack(conn)

    # -- endpoint -------------------------------------------------------------------------

    async def serve(self, request: web.Request, *, user_only: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20, autoping=True)
        await ws.prepare(request)
        conn = Connection(self, ws, request, user_only)
        self.conns[conn] = None
        writer = asyncio.create_task(conn.writer())
        watchdog = asyncio.create_task(conn.watchdog(self.timeouts))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.handle(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            conn.closing = True
            self.conns.pop(conn, None)
            for task in (writer, watchdog):
                task.cancel()
            for task in (writer, watchdog):
                with contextlib.suppress(
                    asyncio.CancelledError, ConnectionResetError, RuntimeError
                ):
                    await task
        return ws

    async def close_all(self, code: int = 1001) -> None:
        for conn in list(self.conns):
            await conn._close(code, b"server shutdown")


HUB: web.AppKey[Hub] = web.AppKey("sim_hub", Hub)


async def market_ws(request: web.Request) -> web.WebSocketResponse:
    return await request.app[HUB].serve(request, user_only=False)


async def user_ws(request: web.Request) -> web.WebSocketResponse:
    return await request.app[HUB].serve(request, user_only=True)


def routes() -> list[web.RouteDef]:
    return [web.get("/ws", market_ws), web.get("/ws/user", user_ws)]
