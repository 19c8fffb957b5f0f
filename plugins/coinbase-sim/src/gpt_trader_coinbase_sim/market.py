"""The public market of one product: synthetic order book, tape of prints, candle history.

The feed (synthetic random walk or a CSV replay) only supplies a price path. Around each
price this module lays out seeded synthetic liquidity, prints a few trades at the touch and
folds them into one-minute candles, which answer every candle granularity. Everything is
Decimal and deterministic for a given seed and price path.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from gpt_trader.domain import Product

NS = 1_000_000_000
MINUTE_NS = 60 * NS
DAY_NS = 86_400 * NS
LEVELS = 25
TAPE_MAX = 5_000
# One year of minutes is ~525k buckets: cap the history so a long run stays bounded.
HISTORY_MAX_MINUTES = 60 * 24 * 30

BID, ASK = "bid", "ask"


def _down(value: Decimal, inc: Decimal) -> Decimal:
    return ((value / inc).to_integral_value(rounding=ROUND_DOWN) * inc).quantize(inc)


@dataclass(frozen=True, slots=True)
class Print:
    """One trade on the public tape. ``side`` is the MAKER's side, as Coinbase reports it."""

    trade_id: str
    symbol: str
    ts: int
    price: Decimal
    size: Decimal
    side: str

    @property
    def taker_side(self) -> str:
        return "BUY" if self.side == "SELL" else "SELL"


@dataclass(slots=True)
class Bar:
    start_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, price: Decimal, size: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size


@dataclass(frozen=True, slots=True)
class LevelChange:
    side: str  # "bid" | "ask"
    price: Decimal
    size: Decimal  # new absolute size; 0 removes the level


@dataclass(frozen=True, slots=True)
class Stats24h:
    open: Decimal
    low: Decimal
    high: Decimal
    volume: Decimal
    low_52w: Decimal
    high_52w: Decimal
    last: Decimal

    @property
    def pct_change(self) -> Decimal:
        if self.open == 0:
            return Decimal(0)
        return ((self.last - self.open) / self.open * 100).quantize(Decimal("0.00000001"))


@dataclass
class ProductMarket:
    """Public market state of one product."""

    product: Product
    rng: random.Random
    price: Decimal = Decimal(0)
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    tape: deque[Print] = field(default_factory=lambda: deque(maxlen=TAPE_MAX))
    bars: dict[int, Bar] = field(default_factory=dict)
    next_trade_id: int = 1
    book_ts: int = 0
    levels: int = LEVELS  # price levels a side

    @property
    def symbol(self) -> str:
        return self.product.symbol

    # -- liquidity ---------------------------------------------------------------------

    def _level_notional(self) -> Decimal:
        # Roughly $2k-$40k a level whatever the price, never below a few minimum sizes.
        return Decimal(self.rng.randint(2_000, 40_000))

    def _size_for(self, notional: Decimal) -> Decimal:
        p = self.product
        # contracts of contract_size each on a future (1 for spot and INTX perpetuals)
        size = _down(notional / (self.price * p.contract_size), p.base_increment)
        return max(size, p.base_min_size * 5)

    def relayout(self, ts: int) -> None:
        """Lay fresh synthetic liquidity around ``self.price`` (one tick = one layout)."""
        p = self.product
        tick = p.price_increment
        step = max(tick, _down(self.price * Decimal("0.0001"), tick))
        half = max(tick, _down(self.price * Decimal("0.000001"), tick))
        best_bid = _down(self.price - half, tick)
        best_ask = best_bid + max(tick, 2 * half)
        self.bids = {}
        self.asks = {}
        for i in range(self.levels):
            if best_bid - step * i > 0:
                self.bids[best_bid - step * i] = self._size_for(self._level_notional())
            self.asks[best_ask + step * i] = self._size_for(self._level_notional())
        self.book_ts = ts

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        if not self.bids:
            return None
        px = max(self.bids)
        return px, self.bids[px]

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        if not self.asks:
            return None
        px = min(self.asks)
        return px, self.asks[px]

    # -- tape and candles ----------------------------------------------------------------

    def print_trade(self, ts: int, price: Decimal, size: Decimal, maker_side: str) -> Print:
        pr = Print(str(self.next_trade_id), self.symbol, ts, price, size, maker_side)
        self.next_trade_id += 1
        self.tape.append(pr)
        self.price = price
        self._bar_add(ts, price, size)
        return pr

    def _bar_add(self, ts: int, price: Decimal, size: Decimal) -> None:
        start = ts - ts % MINUTE_NS
        bar = self.bars.get(start)
        if bar is None:
            self.bars[start] = Bar(start, price, price, price, price, size)
            if len(self.bars) > HISTORY_MAX_MINUTES:
                del self.bars[min(self.bars)]
        else:
            bar.add(price, size)

    def seed_bar(
        self, start_ns: int, o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: Decimal
    ) -> None:
        """History before the server started (backfill from the feed)."""
        start = start_ns - start_ns % MINUTE_NS
        self.bars[start] = Bar(start, o, h, lo, c, v)
        self.price = c

    def step(
        self,
        ts: int,
        price: Decimal,
        volume: Decimal,
        *,
        user_bid: Decimal | None = None,
        user_ask: Decimal | None = None,
    ) -> list[Print]:
        """Move the market to ``price``: fresh liquidity, then prints worth about ``volume``.

        Synthetic levels at or through the user's best resting bid/ask are left out, so the
        public book is never crossed; prints happen at the synthetic touch, and a user order
        priced better than a print fills against it (the engine's trade fill model).
        """
        p = self.product
        if price <= 0:
            return []
        self.price = p.quantize_price(price)
        self.relayout(ts)
        if user_bid is not None:
            self.asks = {px: sz for px, sz in self.asks.items() if px > user_bid}
        if user_ask is not None:
            self.bids = {px: sz for px, sz in self.bids.items() if px < user_ask}
        n = self.rng.randint(1, 3)
        prints: list[Print] = []
        budget = volume if volume > 0 else self._size_for(self._level_notional()) / 10
        for i in range(n):
            share = Decimal(self.rng.randint(1, 100)) / 100
            size = max(_down(budget * share / n, p.base_increment), p.base_min_size)
            taker_buy = self.rng.random() < 0.5
            touch = self.best_ask() if taker_buy else self.best_bid()
            if touch is None:
                continue
            maker_side = "SELL" if taker_buy else "BUY"
            prints.append(self.print_trade(ts + i, touch[0], size, maker_side))
        return prints

    def candles(self, start_ns: int, end_ns: int, granularity_s: int) -> list[Bar]:
        """Buckets of ``granularity_s`` within [start, end], newest first; empty ones omitted."""
        gran = granularity_s * NS
        out: dict[int, Bar] = {}
        for t in sorted(self.bars):
            if t < start_ns - start_ns % gran or t > end_ns:
                continue
            b = self.bars[t]
            key = t - t % gran
            agg = out.get(key)
            if agg is None:
                out[key] = Bar(key, b.open, b.high, b.low, b.close, b.volume)
            else:
                agg.high = max(agg.high, b.high)
                agg.low = min(agg.low, b.low)
                agg.close = b.close
                agg.volume += b.volume
        return [out[k] for k in sorted(out, reverse=True)]

    def stats(self, now_ns: int) -> Stats24h:
        since = now_ns - DAY_NS
        recent = [self.bars[t] for t in sorted(self.bars) if t >= since]
        everything = list(self.bars.values())
        last = self.price
        if not recent:
            return Stats24h(last, last, last, Decimal(0), last, last, last)
        return Stats24h(
            open=recent[0].open,
            low=min(b.low for b in recent),
            high=max(b.high for b in recent),
            volume=sum((b.volume for b in recent), Decimal(0)),
            low_52w=min(b.low for b in everything),
            high_52w=max(b.high for b in everything),
            last=last,
        )

    def trades(
        self, limit: int, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[Print]:
        """Newest first."""
        out: list[Print] = []
        for pr in reversed(self.tape):
            if end_ns is not None and pr.ts > end_ns:
                continue
            if start_ns is not None and pr.ts < start_ns:
                break
            out.append(pr)
            if len(out) >= limit:
                break
        return out


def diff_levels(
    side: str, old: dict[Decimal, Decimal], new: dict[Decimal, Decimal]
) -> list[LevelChange]:
    changes = [LevelChange(side, px, Decimal(0)) for px in old if px not in new]
    changes += [LevelChange(side, px, sz) for px, sz in new.items() if old.get(px) != sz]
    return changes
