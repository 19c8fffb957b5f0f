"""Level-2 books the kernel keeps from BookUpdate events (and top of book from tickers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gpt_trader.domain import BookUpdate, Ticker
from gpt_trader.domain.market import BookView


@dataclass
class L2Book:
    symbol: str
    ts: int = 0
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    from_ticker: bool = False

    def apply(self, update: BookUpdate) -> None:
        if update.snapshot or self.from_ticker:
            self.bids.clear()
            self.asks.clear()
            self.from_ticker = False
        for price, size in update.bids:
            if size > 0:
                self.bids[price] = size
            else:
                self.bids.pop(price, None)
        for price, size in update.asks:
            if size > 0:
                self.asks[price] = size
            else:
                self.asks.pop(price, None)
        self.ts = update.ts

    def apply_ticker(self, ticker: Ticker) -> None:
        """Only when no level-2 data arrives: a one-level book from the ticker."""
        if self.bids and not self.from_ticker:
            return
        self.from_ticker = True
        self.bids = {ticker.bid: ticker.bid_size} if ticker.bid > 0 else {}
        self.asks = {ticker.ask: ticker.ask_size} if ticker.ask > 0 else {}
        self.ts = ticker.ts

    def view(self, depth: int = 50) -> BookView:
        bids = sorted(self.bids.items(), key=lambda lv: lv[0], reverse=True)[:depth]
        asks = sorted(self.asks.items(), key=lambda lv: lv[0])[:depth]
        return BookView(self.symbol, self.ts, tuple(bids), tuple(asks))
