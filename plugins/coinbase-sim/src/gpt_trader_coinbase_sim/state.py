"""The shared state of one simulator instance, as handlers, the WS hub and the driver see it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from gpt_trader.domain import SETTLEMENT_TAG, Fill, Liquidity, Order, Product, Side

from gpt_trader_coinbase_sim.auth import JwtVerifier
from gpt_trader_coinbase_sim.faults import FaultInjector
from gpt_trader_coinbase_sim.keys import KeyRing
from gpt_trader_coinbase_sim.market import Print, ProductMarket
from gpt_trader_coinbase_sim.ordermeta import OrderMetaStore
from gpt_trader_coinbase_sim.shapes import Identity

if TYPE_CHECKING:
    from gpt_trader_coinbase_sim.clock import SimClock
    from gpt_trader_coinbase_sim.venue import Venue

log = logging.getLogger("gpt_trader_coinbase_sim")

Levels = list[tuple[Decimal, Decimal]]


class Subscribers(Protocol):
    """Where the state pushes what changed: the WebSocket hub (``ws.Hub``)."""

    def on_order(self, order: Order) -> None: ...

    def market_step(
        self, m: ProductMarket, prints: list[Print], *, refresh_book: bool = True
    ) -> None: ...


class Keeper(Protocol):
    """Where the account is kept across restarts (``persist.VenueFile``)."""

    def save(self, state: SimState, *, always: bool = False) -> None: ...


@dataclass
class SimState:
    venue: Venue
    markets: dict[str, ProductMarket]
    keys: KeyRing
    faults: FaultInjector
    ident: Identity
    admin_token: str
    metas: OrderMetaStore = field(default_factory=OrderMetaStore)
    hub: Subscribers | None = None
    venue_file: Keeper | None = None  # where the account is kept across restarts
    port: int = 0
    internal_errors: int = 0
    # Every order submit that reached the order handler, in arrival order, reused
    # client_order_ids included (the venue answers those with the original order, so they
    # leave no other trace): what proves no id was sent twice.
    submits: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.verifier = JwtVerifier(self.keys)

    def persist(self, *, always: bool = False) -> None:
        """Save the account if it is kept across restarts (see VenueFile.save)."""
        if self.venue_file is not None:
            self.venue_file.save(self, always=always)

    @property
    def clock(self) -> SimClock:
        """This simulator's clock (the venue's): what every timestamp it serves reads."""
        return self.venue.clock

    @property
    def products(self) -> dict[str, Product]:
        return self.venue.products

    def book(self, symbol: str, depth: int | None = None) -> tuple[Levels, Levels]:
        """Synthetic liquidity (as takers left it) plus the user's resting orders, best first."""
        return self.venue.book(symbol, depth)

    def market(self, symbol: str) -> ProductMarket:
        """The market (tape, candles, layout) of ``symbol``'s book: a USDC alias has its USD
        book's (KeyError for an unknown symbol)."""
        return self.markets[self.venue.book_symbol(symbol)]

    def product_type(self, symbol: str) -> str:
        p = self.products.get(symbol)
        return "FUTURE" if p is not None and p.product_type != "SPOT" else "SPOT"

    def order_changed(self, order: Order) -> None:
        """Venue listener: push the order to user-channel subscribers and the book to level2."""
        if self.hub is not None:
            self.hub.on_order(order)

    def fill_happened(self, fill: Fill) -> None:
        """Venue listener: a user order that TOOK liquidity prints on the public tape."""
        m = self.markets.get(self.venue.book_symbol(fill.symbol))
        if m is None or fill.liquidity is not Liquidity.TAKER:
            return
        order = self.venue.order(fill.order_id)
        if order is not None and order.tag == SETTLEMENT_TAG:
            return  # an expiry cash settlement is no trade
        maker_side = "SELL" if fill.side is Side.BUY else "BUY"
        pr = m.print_trade(fill.ts, fill.price, fill.size, maker_side)
        if self.hub is not None:
            self.hub.market_step(m, [pr], refresh_book=False)


STATE: web.AppKey[SimState] = web.AppKey("sim_state", SimState)
