"""``coinbase.market``: Advanced Trade market data as GPT-Trader market events.

Channels: ``ticker`` -> :class:`Ticker`, ``level2`` (frames ``l2_data``) -> :class:`BookUpdate`
(the first per product is a snapshot), ``market_trades`` -> :class:`Trade` (side = the
taker's; Coinbase sends the maker's), ``candles`` -> :class:`Candle` (5-minute buckets,
emitted once closed), ``heartbeats`` always (liveness). With ``bar_seconds`` the feed also
builds bars of that length from the trades (Coinbase streams only 5-minute candles).

Resilience (see :mod:`gpt_trader_coinbase.stream` for the connection rules): on a sequence
gap, a reconnect, or market data gone stale while the socket lives (``stale_after_s``), the
feed pauses entries (through the kernel it is attached to at startup), sends a REST book
snapshot for every product, resubscribes level2 for a fresh in-band snapshot, and resumes
entries once fresh data flows. While the WebSocket cannot be reached at all, each failed
connect is a WARNING and entries stay paused with the reason ("market data: cannot connect
to wss://...: Connection refused") until the first frame arrives. ``-USDC`` products are
served from the ``-USD`` books.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gpt_trader.domain import BookUpdate, Candle, MarketEvent, Ticker, Trade
from gpt_trader.domain.bars import OpenBar

from gpt_trader_coinbase.auth import Credentials
from gpt_trader_coinbase.convert import WireError, dec, need, parse_time
from gpt_trader_coinbase.malformed import READ_ERRORS, MalformedPayloads
from gpt_trader_coinbase.pause import PauseGate
from gpt_trader_coinbase.rest import RestClient, RestError
from gpt_trader_coinbase.stream import Frame, Subscription, WsStream
from gpt_trader_coinbase.target import Endpoints, SimLease

log = logging.getLogger("gpt_trader_coinbase.feed")
NS = 1_000_000_000
CANDLE_S = 300
MARKET_CHANNELS = ("ticker", "level2", "market_trades", "candles")
TRADE_MEMORY = 2000
# How the kernel (and the ops plugin's metrics and alerts) name this connection.
LINK = "coinbase.market"


@dataclass
class FeedStats:
    events: int = 0
    frames: int = 0
    resyncs: int = 0
    resync_reasons: list[str] = field(default_factory=list)
    snapshots: int = 0
    stale: int = 0
    duplicate_trades: int = 0


class CoinbaseMarketFeed:
    def __init__(
        self,
        endpoints: Endpoints,
        *,
        rest: RestClient,
        credentials: Credentials | None = None,
        channels: Sequence[str] = ("ticker", "level2", "market_trades"),
        bar_seconds: int | None = None,
        stale_after_s: float = 30.0,
        silence_s: float = 10.0,
        book_depth: int = 50,
        tick_s: float = 0.1,
        lease: SimLease | None = None,
    ) -> None:
        unknown = [c for c in channels if c not in MARKET_CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; known: {', '.join(MARKET_CHANNELS)}")
        self.endpoints = endpoints
        self.rest = rest
        self.credentials = credentials
        self.channels = tuple(dict.fromkeys(channels))
        self.bar_seconds = bar_seconds
        self.stale_after_s = stale_after_s
        self.silence_s = silence_s
        self.book_depth = book_depth
        self.tick_s = tick_s
        self._lease = lease
        self.stats = FeedStats()
        self.malformed = MalformedPayloads("coinbase.market")
        self._gate: PauseGate | None = None
        self._connection: Any = None
        self.stream_state: WsStream | None = None
        self.last_frame_received = 0.0  # perf_counter of the frame the last events came from
        # Per run of stream(): wire symbol -> our symbols.
        self._wire: dict[str, list[str]] = {}
        self._awaiting_book: set[str] = set()
        self._resync_due: float | None = None
        self._last_update = 0.0
        self._stale = False
        self._next_stale_action = 0.0
        self._trade_ids: dict[str, deque[str]] = {}
        self._trade_seen: dict[str, set[str]] = {}
        self._candles: dict[str, dict[str, Any]] = {}
        self._candle_emitted: dict[str, int] = {}
        self._bars: dict[str, OpenBar] = {}
        self._bars_done: dict[str, int] = {}

    # -- wiring -----------------------------------------------------------------------

    def attach(self, listener: Any) -> None:
        """Entries are paused on this listener (the kernel) while the feed resyncs; it is
        told when market data's connection drops and comes back (``connection``)."""
        self._gate = PauseGate.for_listener(listener)
        self.malformed.listener = self.rest.malformed.listener = listener
        self._connection = getattr(listener, "connection", None)

    def close(self) -> None:
        """Let go of an in-process simulator (also done when a stream ends)."""
        if self._lease is not None:
            self._lease.release()

    def _link(self, connected: bool, detail: str = "") -> None:
        if self._connection is not None:
            self._connection(LINK, connected, detail)

    def _pause(self, key: str, reason: str) -> None:
        if self._gate is not None:
            self._gate.pause(key, reason)

    def _resume(self, key: str) -> None:
        if self._gate is not None:
            self._gate.resume(key)

    @staticmethod
    def wire_symbol(symbol: str) -> str:
        base, _, quote = symbol.partition("-")
        return f"{base}-USD" if quote == "USDC" else symbol

    # -- the stream -------------------------------------------------------------------

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[MarketEvent]:
        self._wire = {}
        for s in symbols:
            self._wire.setdefault(self.wire_symbol(s), []).append(s)
        wire = tuple(self._wire)
        subs = [Subscription("heartbeats")] + [Subscription(ch, wire) for ch in self.channels]
        ws = WsStream(
            self.endpoints.ws_url,
            subscriptions=subs,
            credentials=self.credentials,
            ssl_context=self.rest.ssl_context,
            session=self.rest.session,
            silence_s=self.silence_s,
            tick_s=self.tick_s,
            name="market data",
            malformed=self.malformed,
        )
        self.stream_state = ws
        self._last_update = time.monotonic()
        try:
            async for item in ws.items():
                if isinstance(item, Frame):
                    self.stats.frames += 1
                    self.last_frame_received = item.received
                    self._link(True)
                    self._resume("feed-connect")
                    try:
                        events = self._events(item)
                    except READ_ERRORS as exc:
                        self.malformed.report(f"{item.channel} frame {item.seq}", exc)
                        if item.channel == "l2_data":  # the book is now unknown
                            async for event in self._resync(
                                ws, "market data book frame unreadable", resubscribe=True
                            ):
                                yield event
                        continue
                    for event in events:
                        self.stats.events += 1
                        yield event
                    continue
                kind = item.kind
                if kind == "connected" and item.connection > 1:
                    async for event in self._resync(
                        ws, f"market data reconnected (#{item.connection})", resubscribe=False
                    ):
                        yield event
                elif kind == "gap":
                    async for event in self._resync(
                        ws, "market data sequence gap", resubscribe=True
                    ):
                        yield event
                elif kind == "unreachable":
                    # Nothing to trade on until it connects: say why (logged by the stream).
                    self._pause("feed-connect", f"market data: {item.detail}")
                    self._link(False, item.detail)
                elif kind == "silence":
                    self._pause("feed", "market data connection silent")
                elif kind == "disconnected":
                    self._pause("feed", "market data disconnected")
                    self._link(False, item.detail)
                elif kind == "tick":
                    for event in self._close_bars(time.time_ns()):
                        yield event
                    now = time.monotonic()
                    if self._resync_due is not None and now >= self._resync_due:
                        # The last resync did not complete (REST failed, no snapshot came).
                        async for event in self._resync(
                            ws, "market data resync retried", resubscribe=True
                        ):
                            yield event
                    if (
                        now - self._last_update >= self.stale_after_s
                        and now >= self._next_stale_action
                    ):
                        self._next_stale_action = now + self.stale_after_s
                        if not self._stale:
                            self._stale = True
                            self.stats.stale += 1
                        async for event in self._resync(
                            ws, "market data stale", resubscribe=True, key="feed-stale"
                        ):
                            yield event
        finally:
            await ws.close()
            # "feed-connect" stays: a run that never reached market data ends paused, saying why.
            self._resume("feed")
            self._resume("feed-stale")
            await self.rest.close()
            self.close()

    async def _resync(
        self, ws: WsStream, reason: str, *, resubscribe: bool, key: str = "feed"
    ) -> AsyncIterator[MarketEvent]:
        self.stats.resyncs += 1
        self.stats.resync_reasons.append(reason)
        log.warning("market data resync: %s", reason)
        self._pause(key, reason)
        ok = True
        for wire_symbol in self._wire:
            try:
                book = await self.rest.product_book(wire_symbol, self.book_depth)
            except RestError as exc:
                ok = False
                log.warning("book snapshot of %s failed: %s", wire_symbol, exc)
                continue
            try:
                snapshot = self._rest_book(wire_symbol, book)
            except READ_ERRORS as exc:
                ok = False
                self.malformed.report(f"book snapshot of {wire_symbol}", exc)
                continue
            for event in snapshot:
                self.stats.snapshots += 1
                yield event
        if resubscribe:
            channels = list(self.channels) if key == "feed-stale" else ["level2"]
            await ws.resubscribe([c for c in channels if c in self.channels])
        if key == "feed":
            self._resync_due = time.monotonic() + max(5.0, self.stale_after_s)
            if "level2" in self.channels:
                self._awaiting_book = set(self._wire)  # resume once in-band snapshots are in
            elif ok:
                self._resync_due = None
                self._resume(key)
        # "feed-stale" is lifted by the first fresh update (see _fresh).

    def _rest_book(self, wire_symbol: str, reply: Mapping[str, Any]) -> list[BookUpdate]:
        book = reply.get("pricebook") or {}
        ts = parse_time(book.get("time")) or time.time_ns()
        bids = tuple((dec(b.get("price")), dec(b.get("size"))) for b in book.get("bids") or [])
        asks = tuple((dec(a.get("price")), dec(a.get("size"))) for a in book.get("asks") or [])
        return [
            BookUpdate(s, ts, bids, asks, snapshot=True) for s in self._wire.get(wire_symbol, [])
        ]

    # -- frames -> events ---------------------------------------------------------------

    def _fresh(self) -> None:
        self._last_update = time.monotonic()
        if self._stale:
            self._stale = False
            self._next_stale_action = 0.0
            self._resume("feed-stale")

    def _events(self, frame: Frame) -> list[MarketEvent]:
        channel = frame.channel
        if channel == "ticker":
            return self._tickers(frame)
        if channel == "l2_data":
            return self._books(frame)
        if channel == "market_trades":
            return self._trades(frame)
        if channel == "candles":
            return self._candle_events(frame)
        return []

    def _tickers(self, frame: Frame) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for ev in frame.events:
            if ev.get("type") == "update":
                self._fresh()
            for t in ev.get("tickers") or []:
                price = dec(need(t, "price"), "price")
                bid = dec(t.get("best_bid")) or price
                ask = dec(t.get("best_ask")) or price
                bid_size = dec(t.get("best_bid_quantity"))
                ask_size = dec(t.get("best_ask_quantity"))
                for s in self._wire.get(str(t.get("product_id", "")), ()):
                    out.append(Ticker(s, frame.ts, price, bid, ask, bid_size, ask_size))
        return out

    def _books(self, frame: Frame) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for ev in frame.events:
            wire_symbol = str(ev.get("product_id", ""))
            snapshot = ev.get("type") == "snapshot"
            bids: list[tuple[Decimal, Decimal]] = []
            asks: list[tuple[Decimal, Decimal]] = []
            ts = 0
            for u in ev.get("updates") or []:
                level = (dec(need(u, "price_level")), dec(need(u, "new_quantity")))
                side = u.get("side")
                if side not in ("bid", "offer"):
                    raise WireError(f"l2 update side {str(side)[:40]!r} is not bid or offer")
                (bids if side == "bid" else asks).append(level)
                if not ts:
                    ts = parse_time(u.get("event_time"))
            if snapshot:
                if wire_symbol in self._awaiting_book:
                    self._awaiting_book.discard(wire_symbol)
                    if not self._awaiting_book:
                        self._resync_due = None
                        self._resume("feed")
            else:
                self._fresh()
            for s in self._wire.get(wire_symbol, ()):
                out.append(
                    BookUpdate(s, ts or frame.ts, tuple(bids), tuple(asks), snapshot=snapshot)
                )
        return out

    def _trades(self, frame: Frame) -> list[MarketEvent]:
        rows: list[tuple[int, str, str, Decimal, Decimal, str]] = []
        for ev in frame.events:
            history = ev.get("type") == "snapshot"
            if not history:
                self._fresh()
            for t in ev.get("trades") or []:
                wire_symbol = str(t.get("product_id", ""))
                trade_id = str(t.get("trade_id", ""))
                if not self._remember_trade(wire_symbol, trade_id) or history:
                    continue
                maker = str(t.get("side", "")).upper()
                taker = "SELL" if maker == "BUY" else "BUY" if maker == "SELL" else maker
                rows.append(
                    (
                        parse_time(t.get("time")),
                        trade_id,
                        wire_symbol,
                        dec(need(t, "price"), "price"),
                        dec(need(t, "size"), "size"),
                        taker,
                    )
                )
        rows.sort()
        out: list[MarketEvent] = []
        for ts, trade_id, wire_symbol, price, size, side in rows:
            if self.bar_seconds:
                out.extend(self._bar_trade(wire_symbol, ts, price, size))
            for s in self._wire.get(wire_symbol, ()):
                out.append(Trade(s, ts, trade_id, price, size, side))
        return out

    def _remember_trade(self, wire_symbol: str, trade_id: str) -> bool:
        """False for a trade id seen before (snapshot overlap after a reconnect)."""
        seen = self._trade_seen.setdefault(wire_symbol, set())
        if trade_id in seen:
            self.stats.duplicate_trades += 1
            return False
        order = self._trade_ids.setdefault(wire_symbol, deque())
        seen.add(trade_id)
        order.append(trade_id)
        if len(order) > TRADE_MEMORY:
            seen.discard(order.popleft())
        return True

    def _candle_events(self, frame: Frame) -> list[MarketEvent]:
        """5-minute candles, each emitted once, when a later bucket shows it has closed."""
        out: list[MarketEvent] = []
        now_s = time.time()
        for ev in frame.events:
            if ev.get("type") == "update":
                self._fresh()
            rows = sorted(ev.get("candles") or [], key=lambda c: int(c.get("start", 0)))
            for c in rows:
                wire_symbol = str(c.get("product_id", ""))
                start = int(c.get("start", 0))
                current = self._candles.get(wire_symbol)
                if current is not None and start > int(current["start"]):
                    out.extend(self._emit_candle(wire_symbol, current))
                if current is None or start >= int(current["start"]):
                    self._candles[wire_symbol] = c
                    if start + CANDLE_S <= now_s:  # a closed bucket from a snapshot
                        out.extend(self._emit_candle(wire_symbol, c))
        return out

    def _emit_candle(self, wire_symbol: str, c: Mapping[str, Any]) -> list[MarketEvent]:
        start = int(c.get("start", 0))
        if start <= self._candle_emitted.get(wire_symbol, -1):
            return []
        self._candle_emitted[wire_symbol] = start
        o, h, lo, cl, v = (dec(c.get(k)) for k in ("open", "high", "low", "close", "volume"))
        return [
            Candle(s, start * NS, o, h, lo, cl, v, interval_s=CANDLE_S)
            for s in self._wire.get(wire_symbol, ())
        ]

    # -- bars from trades ---------------------------------------------------------------

    def _bar_trade(
        self, wire_symbol: str, ts: int, price: Decimal, size: Decimal
    ) -> list[MarketEvent]:
        assert self.bar_seconds is not None
        step = self.bar_seconds * NS
        start = ts - ts % step
        bar = self._bars.get(wire_symbol)
        out: list[MarketEvent] = []
        if bar is not None and start > bar.start:
            out.extend(self._bar_events(wire_symbol, bar))
            bar = None
        if bar is None:
            if start < self._bar_done(wire_symbol):
                return out  # a late print for a bar already emitted
            self._bars[wire_symbol] = OpenBar.first(start, price, size)
        elif start == bar.start:
            bar.add(price, size)
        return out

    def _bar_done(self, wire_symbol: str) -> int:
        return self._bars_done.get(wire_symbol, -1) + 1

    def _bar_events(self, wire_symbol: str, bar: OpenBar) -> list[MarketEvent]:
        assert self.bar_seconds is not None
        self._bars_done[wire_symbol] = bar.start
        self._bars.pop(wire_symbol, None)
        return [bar.candle(s, self.bar_seconds) for s in self._wire.get(wire_symbol, ())]

    def _close_bars(self, now_ns: int) -> Iterable[MarketEvent]:
        if not self.bar_seconds:
            return []
        step = self.bar_seconds * NS
        grace = int(0.25 * NS)
        out: list[MarketEvent] = []
        for wire_symbol, bar in list(self._bars.items()):
            if now_ns >= bar.start + step + grace:
                out.extend(self._bar_events(wire_symbol, bar))
        return out
