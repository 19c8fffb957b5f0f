"""The one place that knows the core matching engine (gpt_trader.sim.SimExchange).

The rest of the simulator talks to :class:`Venue`: submit/cancel/edit in domain terms with
Coinbase reasons (the engine's own codes mapped by :mod:`gpt_trader_coinbase_sim.reasons`,
also on every order handed out), order and fill lookups by venue order id, balances, the
book (synthetic liquidity plus the user's resting orders), and the market events that move
it. Swapping the engine means rewriting this file only. Every call is stamped with the
venue's own clock (:class:`~gpt_trader_coinbase_sim.clock.SimClock`, the wall clock unless
moved ahead).

Derivative products (CFM futures, INTX perpetuals, from
:mod:`gpt_trader_coinbase_sim.catalogue`) are margined by the exchange's
:class:`~gpt_trader.sim.margin.DerivativesLedger`, reachable as :attr:`Venue.derivatives`
(positions, funding; pool summaries in :mod:`gpt_trader_coinbase_sim.summaries`); CFM ->
spot sweeps, a Coinbase rule, are :attr:`Venue.sweeps`
(:mod:`gpt_trader_coinbase_sim.sweeps`). The calls that change them go through here.

USDC books. Coinbase serves its USDC pairs as aliases of the USD books (``BTC-USD`` lists
``alias_to: ["BTC-USDC"]``, ``BTC-USDC`` lists ``alias: "BTC-USD"``; coinbase-api.md §3.2),
so every USD spot product here has its USDC twin: one order book, one price, one tape;
market-data channels serve the USD book even to a USDC subscription, only the user channel
tells the pairs apart (§4.1). What we chose for settlement, and why: an order on the twin
settles against the USDC wallet (a BTC-USDC buy pays USDC, a sell is paid in USDC) and
the base wallet both pairs share, because USD and USDC are separate wallets on Coinbase
and an order needs its own quote wallet (§3.9); that it matches in the USD book is what
the alias means. Fees, increments and limits are the USD pair's.

Price band. Coinbase refuses an order priced too far from the market with
``PREVIEW_BREACHED_PRICE_LIMIT`` (coinbase-api.md §3.6, at preview and at submit); it does
not publish the band. :attr:`Venue.price_band` (a fraction, None = no band, the default)
refuses a limit, stop or bracket whose limit or stop price is further than that from the
last traded price, after the engine's own checks (size, increments) pass.

Money: the core exchange rounds fees up to the quote currency's increment and settles
traded value rounded half-even (see :mod:`gpt_trader.sim.ledger`), so balances stay on the
cent; an order's ``filled_value`` is what its fills moved (:meth:`Venue.filled_value`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gpt_trader.domain import (
    Balance,
    BookUpdate,
    Fill,
    Liquidity,
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    ProductType,
    RejectReason,
    Side,
    Trade,
)
from gpt_trader.domain.money import currency_increment, fee_amount, quantize
from gpt_trader.sim import (
    DerivativesConfig,
    DerivativesLedger,
    SimExchange,
    SimRejected,
    default_products,
)

from gpt_trader_coinbase_sim.catalogue import CATALOGUE, IntradaySetting, Listing, listing
from gpt_trader_coinbase_sim.clock import SimClock
from gpt_trader_coinbase_sim.orderconfig import Rejection
from gpt_trader_coinbase_sim.reasons import wire_cancel_reason, wire_reason
from gpt_trader_coinbase_sim.sweeps import Sweep, Sweeps

OrderListener = Callable[[Order], None]
FillListener = Callable[[Fill], None]
Levels = list[tuple[Decimal, Decimal]]
ZERO = Decimal(0)
UNKNOWN_PREVIEW = "UNKNOWN_PREVIEW_FAILURE_REASON"

INSUFFICIENT_FUNDS = Rejection(
    "UNKNOWN_FAILURE_REASON", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account"
)
POST_ONLY_CROSS = Rejection("INVALID_LIMIT_PRICE_POST_ONLY", UNKNOWN_PREVIEW, "")
NO_LIQUIDITY = Rejection("INVALID_NO_LIQUIDITY", "PREVIEW_INVALID_NO_LIQUIDITY", "no liquidity")
FUTURES_FUNDS = Rejection(
    "INSUFFICIENT_FUNDS",
    "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES",
    "Insufficient funds in the futures account (spot USD is not swept in for API orders)",
)
PERPS_FUNDS = Rejection("INSUFFICIENT_FUNDS", "PREVIEW_INSUFFICIENT_FUND", "Insufficient margin")


def rejection_for(reason: str) -> Rejection:
    """The three error_response reasons for one Coinbase reason (coinbase-api.md §3.6)."""
    if reason == "INSUFFICIENT_FUND":
        return INSUFFICIENT_FUNDS
    if reason == "INVALID_LIMIT_PRICE_POST_ONLY":
        return POST_ONLY_CROSS
    if reason == "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES":
        return FUTURES_FUNDS
    if reason == "INSUFFICIENT_FUNDS":
        return PERPS_FUNDS
    if reason.startswith("PREVIEW_"):
        return Rejection("UNKNOWN_FAILURE_REASON", reason, reason.removeprefix("PREVIEW_").lower())
    preview = {
        "UNSUPPORTED_ORDER_CONFIGURATION": "PREVIEW_INVALID_ORDER_CONFIG",
    }.get(reason, f"PREVIEW_{reason}")
    return Rejection(reason, preview, reason.lower())


@dataclass
class Submitted:
    """The venue's answer to a submit. ``rejection`` set means the order was refused."""

    order: Order
    fills: list[Fill] = field(default_factory=list)
    rejection: Rejection | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class Estimate:
    """What a preview shows: notional, fee and slippage of the order as the book stands."""

    quote: Decimal
    commission: Decimal
    slippage: Decimal
    rejection: Rejection | None


class _Relay:
    """SimExchange listener -> our callbacks (orders with Coinbase's reasons)."""

    def __init__(self, venue: Venue, on_order: OrderListener, on_fill: FillListener | None) -> None:
        self._venue = venue
        self._on_order = on_order
        self._on_fill = on_fill

    def on_order(self, order: Order) -> None:
        self._on_order(self._venue.on_wire(order))

    def on_fill(self, fill: Fill) -> None:
        if self._on_fill is not None:
            self._on_fill(fill)


def usdc_twins(products: Mapping[str, Product]) -> dict[str, Product]:
    """The ``-USDC`` alias of every USD spot product (``BTC-USDC`` for ``BTC-USD``)."""
    return {
        f"{p.base}-USDC": dataclasses.replace(p, symbol=f"{p.base}-USDC", quote="USDC")
        for p in products.values()
        if p.quote == "USD" and p.product_type is ProductType.SPOT
    }


class Venue:
    def __init__(self, exchange: SimExchange, *, price_band: Decimal | None = None) -> None:
        self._ex = exchange
        self.price_band = price_band
        self.clock = SimClock()
        self.products: dict[str, Product] = {p.symbol: p for p in exchange.products()}
        self.aliases: dict[str, str] = exchange.aliases()
        self.maker_fee: Decimal = exchange.maker_fee
        self.taker_fee: Decimal = exchange.taker_fee
        self.sweeps = Sweeps(exchange)
        if exchange.has_derivatives:
            exchange.add_timer(self.sweeps)

    @classmethod
    def create(
        cls,
        symbols: Sequence[str],
        *,
        seed: int,
        balances: Mapping[str, Decimal],
        derivatives: DerivativesConfig | None = None,
        price_band: Decimal | None = None,
    ) -> Venue:
        """A fresh venue for ``symbols``: dev-universe spot products with their USDC twins
        (``BTC-USDC`` asks for the ``BTC-USD`` book) and catalogue derivatives
        (``BIT-28NOV26-CDE``, ``BIP-20DEC30-CDE``, ``BTC-PERP-INTX``, ...)."""
        books = dict.fromkeys(_book_of(s) for s in symbols)
        products = default_products(books, (CATALOGUE,))
        twins = usdc_twins(products)
        return cls(
            SimExchange(
                {**products, **twins},
                dict(balances),
                seed=seed,
                derivatives=derivatives,
                aliases={s: f"{p.base}-USD" for s, p in twins.items()},
            ),
            price_band=price_band,
        )

    # -- the account as JSON (kept across restarts, see persist.py) ---------------------------

    @property
    def version(self) -> int:
        """Moves whenever the account changes (orders, fills, cash, funding, sweeps)."""
        return self._ex.version + self.sweeps.version

    @property
    def last_ts(self) -> int:
        return self._ex.last_ts

    def to_state(self) -> dict[str, Any]:
        return {**self._ex.to_state(), "sweeps": self.sweeps.to_state()}

    def load_state(self, state: dict[str, Any], *, source: str) -> None:
        self._ex.load_state(state, source=source)
        self.sweeps.load_state(state.get("sweeps", []))

    # -- derivatives -------------------------------------------------------------------------

    @property
    def derivatives(self) -> DerivativesLedger | None:
        """The margin ledger (None when the venue trades spot only)."""
        return self._ex.derivatives if self._ex.has_derivatives else None

    def spec(self, symbol: str) -> Listing | None:
        """How the REST answers list a derivative product (None for spot)."""
        d = self.derivatives
        return listing(d.product(symbol)) if d is not None and d.handles(symbol) else None

    def pool_of(self, symbol: str) -> str | None:
        d = self.derivatives
        return d.terms(symbol).pool if d is not None and d.handles(symbol) else None

    def on_wire(self, order: Order) -> Order:
        """``order`` with its refusal named as Coinbase names it (a copy when it has one)."""
        if not order.reject_reason:
            return order
        wired = order.copy()
        wired.reject_reason = wire_reason(
            order.reject_reason,
            self.pool_of(order.symbol),
            bracket=order.order_type is OrderType.BRACKET,
        )
        return wired

    def intraday_setting(self) -> IntradaySetting:
        d = self.derivatives
        on = d is not None and d.intraday_margin
        return IntradaySetting.INTRADAY if on else IntradaySetting.STANDARD

    def schedule_sweep(self, amount: Decimal | None) -> Sweep | None:
        return self.sweeps.schedule(amount, self.clock.now_ns())

    def cancel_sweep(self) -> bool:
        return self.sweeps.cancel(self.clock.now_ns())

    def set_intraday_setting(self, setting: IntradaySetting) -> None:
        if self.derivatives is not None:
            on = setting is IntradaySetting.INTRADAY
            self.derivatives.set_intraday_margin(on, self.clock.now_ns())

    def allocate(self, symbol: str, amount: Decimal) -> Decimal:
        """Add margin to an isolated position; ValueError when impossible."""
        return self._ex.allocate(symbol, amount, self.clock.now_ns())

    def transfer_to_derivatives(self, account: str, amount: Decimal) -> None:
        self._ex.transfer_to_derivatives(account, amount, self.clock.now_ns())

    def advance(self) -> None:
        """Run what is due now (funding, expiry, sweeps) without waiting for market data."""
        self._ex.advance(self.clock.now_ns())

    def add_listener(self, on_order: OrderListener, on_fill: FillListener | None = None) -> None:
        self._ex.add_listener(_Relay(self, on_order, on_fill))

    def book_symbol(self, symbol: str) -> str:
        """The product whose book ``symbol`` trades in (``BTC-USD`` for ``BTC-USDC``)."""
        return self.aliases.get(symbol, symbol)

    def aliased_by(self, symbol: str) -> list[str]:
        """The aliases served by ``symbol``'s book (``["BTC-USDC"]`` for ``BTC-USD``)."""
        return [a for a, book in self.aliases.items() if book == symbol]

    # -- trading -----------------------------------------------------------------------------

    def submit(self, request: OrderRequest, *, margin_type: str | None = None) -> Submitted:
        known = self._ex.order(request.client_order_id)
        ts = self.clock.now_ns()
        if known is None and self._out_of_band(request, ts):
            placed = self._ex.refuse(request, ts, RejectReason.PRICE_TOO_FAR)
        else:
            placed = self._ex.submit(request, ts, margin_type=margin_type or None)
        order = self.on_wire(placed)
        fills = self._ex.fills(client_order_id=request.client_order_id)
        rejection = None
        if order.status is OrderStatus.REJECTED:
            rejection = rejection_for(order.reject_reason)
        return Submitted(order, fills, rejection, duplicate=known is not None)

    def _out_of_band(self, request: OrderRequest, ts: int) -> bool:
        """Whether a limit or stop price of an otherwise valid ``request`` lies further
        than :attr:`price_band` from the last traded price (module docstring)."""
        band = self.price_band
        engine = self._ex.engine(request.symbol) if request.symbol in self.products else None
        if band is None or engine is None or engine.last_price is None:
            return False
        if engine.check(request, ts) is not None:
            return False
        last = engine.last_price
        prices = (p for p in (request.limit_price, request.stop_price) if p is not None)
        return any(abs(p - last) > last * band for p in prices)

    def spendable(self, symbol: str) -> Decimal | None:
        """The quote currency a BUY of spot ``symbol`` can spend now; None on a derivative,
        whose orders take margin rather than cash."""
        deriv = self.derivatives
        if deriv is not None and deriv.handles(symbol):
            return None
        return self._ex.balance(self.products[symbol].quote).available

    def size_for_quote(self, symbol: str, side: Side, quote: Decimal) -> Decimal:
        """The base size a market order spending ``quote`` (fees included for a BUY) gets."""
        return self._ex.size_for_quote(symbol, side, quote)

    def estimate(self, request: OrderRequest, *, margin_type: str | None = None) -> Estimate:
        """Preview: what the order would cost now, and why it would be refused."""
        engine = self._ex.engine(request.symbol)
        ts = self.clock.now_ns()
        reason = engine.check(request, ts)
        if reason is None and self._out_of_band(request, ts):
            reason = RejectReason.PRICE_TOO_FAR
        price: Decimal | None
        if request.order_type is OrderType.MARKET:
            price = engine.estimate_price(request.side, request.size)
        else:
            price = request.limit_price
        price = price or ZERO
        product = self.products[request.symbol]
        notional = price * request.size * product.contract_size
        cents = currency_increment(product.quote)
        quote = quantize(notional, cents).normalize()
        commission = fee_amount(notional, engine.taker_fee, cents).normalize()
        deriv = self.derivatives
        if deriv is not None and deriv.handles(request.symbol):
            if reason is None:
                try:
                    mtype = MarginType(margin_type) if margin_type else None
                except ValueError:
                    reason = RejectReason.INVALID_MARGIN_TYPE
                else:
                    held_at = self._ex.order_price(request)
                    reason = deriv.order_reason(request, ts, mtype, held_at)
        elif reason is None and price:
            p = self.products[request.symbol]
            currency, need = p.base, request.size
            if request.side is Side.BUY:
                cost = None
                if request.order_type is OrderType.MARKET:
                    cost = self._ex.market_cost(request.symbol, request.size)  # as submit holds
                currency, need = p.quote, quote + commission if cost is None else cost
            if self._ex.balance(currency).available < need:
                reason = RejectReason.INSUFFICIENT_FUNDS
        touch = engine.best_ask() if request.side is Side.BUY else engine.best_bid()
        slippage = ZERO
        if request.order_type is OrderType.MARKET and touch and price:
            slippage = abs(price - touch) / touch
        rejection = None
        if reason:
            bracket = request.order_type is OrderType.BRACKET
            wired = wire_reason(reason, self.pool_of(request.symbol), bracket=bracket)
            rejection = rejection_for(wired)
        return Estimate(quote, commission, slippage, rejection)

    def cancel(self, order_id: str) -> str:
        """Cancel by venue order id: "" on success, else the Coinbase cancel failure reason."""
        order = self._ex.order_by_id(order_id)
        if order is None:
            return wire_cancel_reason(RejectReason.UNKNOWN_ORDER)
        result = self._ex.cancel(order.client_order_id, self.clock.now_ns())
        return "" if result.success else wire_cancel_reason(result.failure_reason)

    def edit_error(self, order_id: str, *, price: Decimal | None, size: Decimal) -> str | None:
        order = self._ex.order_by_id(order_id)
        if order is None:
            return wire_reason(RejectReason.UNKNOWN_ORDER)
        reason = self._ex.engine(order.symbol).edit_error(order.client_order_id, size, price)
        return None if reason is None else wire_reason(reason)

    def edit(
        self, order_id: str, *, price: Decimal | None, size: Decimal
    ) -> tuple[str, str] | None:
        """Edit a resting GTC limit: None on success, else (edit reason, preview reason)."""
        order = self._ex.order_by_id(order_id)
        if order is None:
            return wire_reason(RejectReason.UNKNOWN_ORDER), UNKNOWN_PREVIEW
        try:
            self._ex.edit(order.client_order_id, self.clock.now_ns(), size=size, price=price)
        except SimRejected as e:
            reason = wire_reason(e.reason)
            if reason.startswith("PREVIEW_"):
                return "COMMANDER_REJECTED_EDIT_ORDER", reason
            return reason, UNKNOWN_PREVIEW
        return None

    def order_id_for(self, symbol: str, client_order_id: str) -> str:
        """The id the venue gives (or gave) the order with ``client_order_id``."""
        return self._ex.engine(symbol).order_id_for(client_order_id)

    # -- lookups -----------------------------------------------------------------------------

    def order(self, order_id: str) -> Order | None:
        found = self._ex.order_by_id(order_id)
        return None if found is None else self.on_wire(found)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        found = self._ex.order(client_order_id)
        return None if found is None else self.on_wire(found)

    def orders(self) -> list[Order]:
        """Every order, newest first (Coinbase's default sort)."""
        return [self.on_wire(o) for o in reversed(self._ex.orders())]

    def fills(self) -> list[Fill]:
        """Every fill, newest first."""
        return list(reversed(self._ex.fills()))

    def filled_value(self, order: Order) -> Decimal:
        """What the order's fills moved before fees (each rounded as it settled)."""
        return self._ex.filled_value(order.client_order_id)

    def hold(self, order: Order) -> Decimal:
        """What a working order holds now (quote for a buy, base for a sell; margin)."""
        return self._ex.order_hold(order.client_order_id)

    def balances(self) -> list[Balance]:
        have = {b.currency: b for b in self._ex.balances()}
        # One wallet per currency a spot product trades, funded or not (as Coinbase lists
        # them); derivative collateral lives in the margin pools, not in wallets.
        for p in self.products.values():
            if p.product_type != "SPOT":
                continue
            for c in (p.base, p.quote):
                have.setdefault(c, Balance(c, ZERO, ZERO))
        return [have[c] for c in sorted(have)]

    def cash(self, currency: str) -> Decimal:
        return self._ex.balance(currency).total

    # -- the book and the market --------------------------------------------------------------

    def book(self, symbol: str, depth: int | None = None) -> tuple[Levels, Levels]:
        """Synthetic liquidity plus resting user orders, best first."""
        bids, asks = self._ex.engine(symbol).book_levels(depth or 1_000)
        return list(bids), list(asks)

    def resting_best(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """Best resting USER bid and ask in ``symbol``'s book, its aliases' orders included
        (so the synthetic layout never crosses them)."""
        bid = ask = None
        for o in self._ex.engine(symbol).open_orders():
            if o.limit_price is None or o.order_type is not OrderType.LIMIT:
                continue
            if o.side is Side.BUY:
                bid = o.limit_price if bid is None else max(bid, o.limit_price)
            else:
                ask = o.limit_price if ask is None else min(ask, o.limit_price)
        return bid, ask

    def set_liquidity(self, symbol: str, bids: Levels, asks: Levels, ts: int) -> None:
        """Replace the synthetic liquidity (a book snapshot)."""
        self._ex.apply_book(BookUpdate(symbol, ts, tuple(bids), tuple(asks), snapshot=True))

    def on_print(
        self, symbol: str, ts: int, trade_id: str, price: Decimal, size: Decimal, taker_side: str
    ) -> None:
        """A public trade: fills resting user orders priced better than it, up to its size."""
        self._ex.on_trade(Trade(symbol, ts, trade_id, price, size, taker_side))


def _book_of(symbol: str) -> str:
    """The USD book a ``-USDC`` symbol names (``BTC-USDC`` -> ``BTC-USD``); others as given."""
    base, _, quote = symbol.partition("-")
    return f"{base}-USD" if quote == "USDC" else symbol


__all__ = ["Estimate", "Liquidity", "Submitted", "Venue", "rejection_for", "usdc_twins"]
