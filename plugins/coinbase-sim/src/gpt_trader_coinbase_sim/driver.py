"""The live market: a background task that moves every product once per tick.

Prices come from core's SyntheticFeed (a seeded random walk with one bar per tick) or, for
the first product with ``--replay``, from a CsvCandleFeed (one CSV bar per tick, cycling).
Each tick, per product: fresh synthetic liquidity around the price (handed to the venue as
a book snapshot, so market orders walk it), a few prints at the touch (which fill resting
user orders priced better, partially, by printed size), candles, and WebSocket frames.

History: at start the last ``history_minutes`` one-minute candles are generated with the
same walk and rescaled so they end exactly where the live walk starts: a product's
``anchors`` price (where a restarted simulator's market stopped) or its seed price; the
live walk is scaled by the same ratio, so a restart goes on from the last price.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

from gpt_trader.domain import Candle
from gpt_trader.sim import CsvCandleFeed, SyntheticFeed
from gpt_trader.sim.products import market_profile

from gpt_trader_coinbase_sim.market import MINUTE_NS, ProductMarket
from gpt_trader_coinbase_sim.state import SimState, log


class MarketDriver:
    def __init__(
        self,
        state: SimState,
        *,
        seed: int,
        replay: Path | None = None,
        tick_s: float = 1.0,
        anchors: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.state = state
        self._anchors = dict(anchors or {})
        self._scale = {
            s: p / market_profile(state.products.get(s) or s).start_price
            for s, p in self._anchors.items()
            if p > 0
        }
        self.seed = seed
        self.tick_s = tick_s
        self.symbols = list(state.markets)
        self.interval_s = max(1, round(tick_s))
        live = SyntheticFeed(state.products, seed=seed, interval_s=self.interval_s, pace_s=0)
        self._live = live.bars(self.symbols)
        self._replay: Iterator[Candle] | None = None
        self._replay_symbol = ""
        if replay is not None:
            self._replay_symbol = self.symbols[0]
            bars = list(CsvCandleFeed(replay, self._replay_symbol).events([self._replay_symbol]))
            self._replay = itertools.cycle(bars) if bars else None
            self._replay_scale = (
                Decimal(self.interval_s) / Decimal(bars[0].interval_s) if bars else Decimal(1)
            )
        self.steps = 0

    def _start_price(self, symbol: str) -> Decimal:
        if symbol in self._scale:
            return self._anchors[symbol]
        return market_profile(self.state.products.get(symbol) or symbol).start_price

    def backfill(self, minutes: int) -> None:
        """One-minute history ending now, then the first layout of every book."""
        now = self.state.clock.now_ns()
        start = now - now % MINUTE_NS - minutes * MINUTE_NS
        feed = SyntheticFeed(
            self.state.products, seed=self.seed + 1, interval_s=60, start_ts=start, pace_s=0
        )
        first_replay = next(self._replay) if self._replay is not None else None
        groups = list(feed.bars(self.symbols, limit=minutes)) if minutes > 0 else []
        for i, symbol in enumerate(self.symbols):
            m = self.state.markets[symbol]
            anchor = self._start_price(symbol)
            if first_replay is not None and symbol == self._replay_symbol:
                anchor = first_replay.close
            if groups:
                scale = anchor / groups[-1][i].close
                q = m.product.quantize_price
                for g in groups:
                    c = g[i]
                    m.seed_bar(
                        c.ts,
                        q(c.open * scale),
                        q(c.high * scale),
                        q(c.low * scale),
                        q(c.close * scale),
                        c.volume,
                    )
            m.price = m.product.quantize_price(anchor)
            self._layout(m, now)
        self.step()  # a first tick: the tape and the book are never empty once serving

    def _layout(self, m: ProductMarket, ts: int) -> None:
        venue = self.state.venue
        user_bid, user_ask = venue.resting_best(m.symbol)
        m.relayout(ts)
        if user_bid is not None:
            m.asks = {px: sz for px, sz in m.asks.items() if px > user_bid}
        if user_ask is not None:
            m.bids = {px: sz for px, sz in m.bids.items() if px < user_ask}
        venue.set_liquidity(
            m.symbol, sorted(m.bids.items(), reverse=True), sorted(m.asks.items()), ts
        )

    def step(self) -> None:
        """One tick of every product."""
        group = next(self._live)
        ts = self.state.clock.now_ns()
        venue = self.state.venue
        hub = self.state.hub
        for candle in group:
            m = self.state.markets[candle.symbol]
            price, volume = candle.close, candle.volume
            if candle.symbol in self._scale:
                price = m.product.quantize_price(price * self._scale[candle.symbol])
            if self._replay is not None and candle.symbol == self._replay_symbol:
                bar = next(self._replay)
                price, volume = bar.close, bar.volume * self._replay_scale
            user_bid, user_ask = venue.resting_best(m.symbol)
            prints = m.step(ts, price, volume, user_bid=user_bid, user_ask=user_ask)
            venue.set_liquidity(
                m.symbol, sorted(m.bids.items(), reverse=True), sorted(m.asks.items()), ts
            )
            for pr in prints:
                venue.on_print(m.symbol, pr.ts, pr.trade_id, pr.price, pr.size, pr.taker_side)
            if hub is not None:
                hub.market_step(m, prints)
        self.steps += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.step()
                self.state.persist()
            except Exception:
                # Our bug: keep the market alive, but make it visible (tests assert 0).
                self.state.internal_errors += 1
                log.exception("market step failed")
