"""The simulated exchange: one matching engine per product, a balance ledger, histories.

:class:`SimExchange` is what the in-process sim broker drives and what a venue's protocol
server wraps, so its API is synchronous, takes explicit timestamps (int ns UTC) and speaks
only Decimals and domain objects. Every change is reported to the listeners
(``on_fill(fill)`` then ``on_order(order)`` for an update that carries a fill, just
``on_order(order)`` otherwise), synchronously, once, in the order it happened, after the
ledger has been settled for it.

Funds: an accepted BUY holds ``price * size`` plus the taker fee on it, in the quote
currency (price = the limit; a MARKET order that fills at once holds exactly what its fills
will cost, one filling at a later open the estimate at the last price); a SELL holds its
size in the base currency. Too little available -> REJECTED ``INSUFFICIENT_FUND``.
A buy fill debits its value plus fee from the quote (out of the order's hold first) and
credits the base; a sell fill debits the base and credits its value minus fee. On spot
products: no shorting, ``reduce_only`` and ``leverage`` are ignored. In ``next_open`` mode
a market buy is held at the last price and may cost more at the next open; the difference
comes out of the available balance (which can then go below zero, which a real venue would
not allow).

Rounding (see :mod:`gpt_trader.sim.ledger`): a fill's traded value moves the cash by what
the currency's exact running total of traded value moved once rounded half-even; each fee
is rounded up to the currency's increment. So cash balances stay on the increment (cents
for USD) after any number of fills and are always the exact books rounded; an order's
:meth:`SimExchange.filled_value` is what its fills moved, each within a cent of its
``price * size``.

Alias products (``aliases={"BTC-USDC": "BTC-USD"}``; the alias is in ``products`` too)
trade in the book of the product they alias (one engine, one order book, one price) but
settle in their own currencies: a BTC-USDC buy pays USDC. Market events drive books by the
book's symbol; events for an alias symbol are ignored.

Derivatives (FUTURE / PERPETUAL products): margin, positions, leverage, reduce-only,
liquidation, funding and expiry are the :class:`~gpt_trader.sim.margin.
DerivativesLedger`'s (see :mod:`gpt_trader.sim.margin`), driven by each product's
``derivative`` terms; their collateral lives in the ledger's pools (named by the terms),
not in :meth:`balances` (spot wallets only). Time-driven events (funding, margin-window
changes, expiry, and the :class:`Timer` s a venue layer adds, e.g. its own transfers) run,
in time order, at the start of every call and market event whose time reaches them (and on
:meth:`advance`); liquidations are checked after every mark change and event. Listeners
that have ``on_funding(payment)`` / ``on_settlement(settlement)`` get those records too.
A BRACKET on a derivative is an exit bound to the position: after every fill that moves
the position, a working bracket that would no longer close anything (the position closed,
liquidated or turned) is CANCELLED and one larger than the position is cut to its size,
so a leg left behind never opens a position. Within one bar the fills are settled after
the engine made them all: a close and a bracket filling in the same bar are not
re-checked against each other.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from gpt_trader.domain import (
    LIQUIDATION_TAG,
    SETTLEMENT_TAG,
    Balance,
    BookUpdate,
    Candle,
    Fill,
    FundingPayment,
    MarginType,
    MarketEvent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    ProductType,
    Side,
    Ticker,
    Trade,
)
from gpt_trader.domain.money import currency_increment, fee_amount, quantize
from gpt_trader.domain.reasons import RejectReason
from gpt_trader.errors import UserError
from gpt_trader.protocols import BrokerListener
from gpt_trader.sim.ledger import Ledger, settled_move
from gpt_trader.sim.margin import DerivativesLedger
from gpt_trader.sim.margin_records import DerivativesConfig, LiquidationFill, Settlement
from gpt_trader.sim.matching import (
    DEFAULT_MAKER_FEE,
    DEFAULT_TAKER_FEE,
    MarketFill,
    MatchingEngine,
    Update,
)
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.state import (
    STATE_VERSION,
    fill_from_json,
    fill_to_json,
    need_dec,
    order_from_json,
    order_to_json,
)
from gpt_trader.sim.validation import normalize

ZERO = Decimal(0)


class Timer(Protocol):
    """A time-driven event source a venue layer adds to the exchange's schedule."""

    def due(self, ts: int) -> tuple[int, str] | None:
        """The earliest ``(time, key)`` due at or before ``ts``, or None."""
        ...

    def fire(self, key: str, t: int) -> None:
        """Run the event ``key`` due at ``t`` (it must then no longer be due)."""
        ...


@dataclass(frozen=True, slots=True)
class CancelResult:
    """One order's cancel outcome; ``failure_reason`` is a :class:`Reason` when it failed."""

    client_order_id: str
    success: bool
    failure_reason: str = ""


class SimExchange:
    """Several :class:`MatchingEngine` s sharing one account.

    ``products``: the tradable products (a mapping by symbol, or an iterable).
    ``balances``: starting balances per currency, e.g. ``{"USD": Decimal(100_000)}``.
    ``maker_fee`` / ``taker_fee``: fee rates (defaults 0.0040 / 0.0060).
    ``market_fill``: ``"immediate"`` or ``"next_open"`` (see :mod:`gpt_trader.sim.matching`).
    ``slippage_bps``, ``volume_participation``, ``fill_on_touch``: passed to every engine.
    ``seed``: makes the order ids (uuid5 of the client_order_id in a seed-derived namespace);
    the same seed and the same calls give the same ids, fills and balances.
    ``derivatives``: collateral and settings of the derivative accounts (used when some
    product is a FUTURE or PERPETUAL).
    ``aliases``: alias symbol -> the symbol whose book it trades in (module docstring).
    """

    def __init__(
        self,
        products: Mapping[str, Product] | Iterable[Product],
        balances: Mapping[str, Decimal] | None = None,
        *,
        maker_fee: Decimal = DEFAULT_MAKER_FEE,
        taker_fee: Decimal = DEFAULT_TAKER_FEE,
        market_fill: MarketFill = "immediate",
        slippage_bps: Decimal = ZERO,
        volume_participation: Decimal | None = None,
        fill_on_touch: bool = False,
        seed: int = 0,
        id_prefix: str = "sim",
        derivatives: DerivativesConfig | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        items = products.values() if isinstance(products, Mapping) else products
        self._products: dict[str, Product] = {p.symbol: p for p in items}
        self._aliases = dict(aliases or {})
        for alias, book in self._aliases.items():
            if alias not in self._products or book not in self._products or book in self._aliases:
                raise ValueError(f"alias {alias} -> {book}: both must be products, {book} a book")
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim/{seed}")
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.market_fill: MarketFill = market_fill
        self._deriv_config = derivatives or DerivativesConfig()
        self._id_prefix = id_prefix
        dcfg = self._deriv_config

        def fees(product: Product) -> tuple[Decimal, Decimal]:
            if product.product_type is ProductType.SPOT:
                return maker_fee, taker_fee
            maker = maker_fee if dcfg.maker_fee is None else dcfg.maker_fee
            taker = taker_fee if dcfg.taker_fee is None else dcfg.taker_fee
            return maker, taker

        self._engines: dict[str, MatchingEngine] = {
            symbol: MatchingEngine(
                product,
                maker_fee=fees(product)[0],
                taker_fee=fees(product)[1],
                market_fill=market_fill,
                slippage_bps=slippage_bps,
                volume_participation=volume_participation,
                fill_on_touch=fill_on_touch,
                id_prefix=id_prefix,
                id_namespace=self._namespace,
                aliases=[a for a, b in self._aliases.items() if b == symbol],
            )
            for symbol, product in self._products.items()
            if symbol not in self._aliases
        }
        # Every tradable symbol -> its book's engine (an alias shares its book's).
        self._routes: dict[str, MatchingEngine] = {
            **self._engines,
            **{a: self._engines[b] for a, b in self._aliases.items()},
        }
        self._starting: dict[str, Decimal] = {c: Decimal(v) for c, v in (balances or {}).items()}
        self._ledger = Ledger(self._starting)
        self._where: dict[str, str] = {}  # client_order_id -> symbol ("" = unknown product)
        self._by_order_id: dict[str, str] = {}
        self._unrouted: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._flows: dict[str, Decimal] = {}  # currency -> exact running total of traded value
        self._values: dict[str, Decimal] = {}  # client_order_id -> value its fills settled
        self._positions: dict[str, Position] = {}
        self._listeners: list[BrokerListener] = []
        self._deriv = self._new_derivatives()
        self._timers: list[Timer] = []
        self._scheduling = False
        self.version = 0
        """Bumped on every change; a persister saves when it moved."""
        self.last_ts = 0
        """Latest time seen in any call or market event."""

    def _new_derivatives(self) -> DerivativesLedger | None:
        if all(p.product_type is ProductType.SPOT for p in self._products.values()):
            return None
        dcfg = self._deriv_config
        return DerivativesLedger(
            self._products,
            dcfg,
            mark=self.last_price,
            taker_fee=self.taker_fee if dcfg.taker_fee is None else dcfg.taker_fee,
            id_prefix=self._id_prefix,
        )

    @property
    def derivatives(self) -> DerivativesLedger:
        """The margin ledger of the derivative products (ValueError when there are none):
        positions, margin, funding payments, settlements, settings."""
        if self._deriv is None:
            raise ValueError("this sim exchange trades no derivative products")
        return self._deriv

    @property
    def has_derivatives(self) -> bool:
        return self._deriv is not None

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: BrokerListener) -> None:
        """Call ``listener.on_fill`` / ``listener.on_order`` for every future change."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ trading

    def submit(
        self, request: OrderRequest, ts: int, *, margin_type: MarginType | str | None = None
    ) -> Order:
        """Place an order at ``ts``; returns the order as it stands after placing.

        A ``client_order_id`` seen before returns that original order and changes nothing.
        A refusal comes back as a REJECTED order with ``reject_reason`` set.
        ``margin_type`` (CROSS / ISOLATED) applies to derivative products only; None = the
        open position's, or CROSS.
        """
        cid = request.client_order_id
        if cid in self._where:
            existing = self.order(cid)
            assert existing is not None
            return existing
        self._seen(ts)
        engine = self._routes.get(request.symbol)
        if engine is None:
            return self._reject_unrouted(request, ts)
        normal = normalize(request)
        if isinstance(normal, str):
            reason: str | None = normal
        else:
            request = normal
            reason = engine.check(request, ts)
        deriv = self._deriv if self._deriv and self._deriv.handles(request.symbol) else None
        hold: tuple[str, Decimal] | None = None
        mtype: MarginType | None = None
        price: Decimal | None = None
        if reason is None and deriv is not None:
            try:
                mtype = None if not margin_type else MarginType(margin_type)
            except ValueError:
                reason = RejectReason.INVALID_MARGIN_TYPE
            price = self._price_for(engine, request)
            if reason is None:
                reason = deriv.order_reason(request, ts, mtype, price)
        elif reason is None:
            hold = self._hold_for(engine, request)
            if hold is not None and self._ledger.available(hold[0]) < hold[1]:
                reason = RejectReason.INSUFFICIENT_FUNDS
        self._where[cid] = request.symbol
        if reason is not None:
            ups = engine.reject(request, ts, reason)
            self._by_order_id[ups[0].order.order_id] = cid
            self._apply(ups)
        else:
            if hold is not None:
                self._ledger.place_hold(cid, *hold)
            if deriv is not None:
                deriv.accept(request, ts, mtype, price or ZERO)
            ups = engine.accept(request, ts)
            self._by_order_id[ups[0].order.order_id] = cid
            self._apply(ups)
            self._check_liquidations(ts)
        order = engine.order(cid)
        assert order is not None
        return order

    def refuse(self, request: OrderRequest, ts: int, reason: RejectReason) -> Order:
        """Record ``request`` as REJECTED for a ``reason`` a venue layer decided (a rule of
        its own, such as a price band), as :meth:`submit` records its own refusals; a
        ``client_order_id`` seen before returns that order unchanged."""
        known = self.order(request.client_order_id)
        if known is not None:
            return known
        self._seen(ts)
        engine = self._routes.get(request.symbol)
        if engine is None:
            return self._reject_unrouted(request, ts)
        self._where[request.client_order_id] = request.symbol
        self._by_order_id[engine.order_id_for(request.client_order_id)] = request.client_order_id
        self._apply(engine.reject(request, ts, reason))
        order = engine.order(request.client_order_id)
        assert order is not None
        return order

    def _reject_unrouted(self, request: OrderRequest, ts: int) -> Order:
        order = Order.from_request(request, ts)
        order.order_id = str(uuid.uuid5(self._namespace, request.client_order_id))
        order.status = OrderStatus.REJECTED
        order.reject_reason = RejectReason.UNKNOWN_PRODUCT
        self._where[order.client_order_id] = ""
        self._by_order_id[order.order_id] = order.client_order_id
        self._unrouted[order.client_order_id] = order
        self._apply([Update(order.copy())])
        return order.copy()

    def _hold_for(
        self, engine: MatchingEngine, request: OrderRequest
    ) -> tuple[str, Decimal] | None:
        p = self._products[request.symbol]
        if request.side is Side.SELL:
            return p.base, request.size
        if request.order_type is OrderType.MARKET:
            cost = self.market_cost(request.symbol, request.size)
            if cost is not None:
                return p.quote, cost
            price = engine.estimate_price(Side.BUY, request.size)
        elif request.order_type is OrderType.BRACKET and request.stop_price is not None:
            # a BUY bracket's stop leg pays up to the stop, which sits above the limit
            price = max(request.stop_price, request.limit_price or request.stop_price)
        else:
            price = request.limit_price
        if price is None:
            return None
        return p.quote, self._buy_cost(p, price, request.size)

    def order_price(self, request: OrderRequest) -> Decimal | None:
        """The price a derivative order's margin hold is figured at (what :meth:`submit`
        holds; a venue's preview shows the same)."""
        return self._price_for(self.engine(request.symbol), request)

    @staticmethod
    def _price_for(engine: MatchingEngine, request: OrderRequest) -> Decimal | None:
        if request.order_type is OrderType.MARKET:
            return engine.estimate_price(request.side, request.size)
        if request.order_type is OrderType.BRACKET and request.limit_price is not None:
            # its fee is held on the dearer leg: a BUY's stop sits above its limit
            return max(request.limit_price, request.stop_price or request.limit_price)
        return request.limit_price

    def _buy_cost(self, product: Product, price: Decimal, size: Decimal) -> Decimal:
        inc = currency_increment(product.quote)
        notional = price * size
        return quantize(notional, inc) + fee_amount(notional, self.taker_fee, inc)

    def cancel(self, client_order_id: str, ts: int) -> CancelResult:
        """Cancel one working order; the reason says why not when ``success`` is False."""
        self._seen(ts)
        engine = self._engine_of(client_order_id)
        if engine is None:
            reason = RejectReason.UNKNOWN_ORDER
            if client_order_id in self._unrouted:
                reason = RejectReason.NOT_CANCELLABLE
            return CancelResult(client_order_id, False, reason)
        reason_or_none = engine.cancel_error(client_order_id)
        if reason_or_none is not None:
            return CancelResult(client_order_id, False, reason_or_none)
        self._apply(engine.cancel(client_order_id, ts))
        return CancelResult(client_order_id, True)

    def edit(
        self,
        client_order_id: str,
        ts: int,
        *,
        size: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Order:
        """Edit a working LIMIT GTC order (new total ``size`` and/or ``price``).

        Raises :class:`~gpt_trader.sim.reasons.SimRejected` (a ``BrokerError``) with the
        reason, e.g. ``EDIT_BELOW_FILLED``.
        """
        self._seen(ts)
        engine = self._engine_of(client_order_id)
        if engine is None:
            raise SimRejected(RejectReason.UNKNOWN_ORDER, client_order_id)
        reason = engine.edit_error(client_order_id, size, price)
        if reason is not None:
            raise SimRejected(reason, client_order_id)
        current = engine.order(client_order_id)
        assert current is not None
        assert current.limit_price is not None
        new_size = current.size if size is None else size
        new_price = current.limit_price if price is None else price
        remaining = new_size - current.filled_size
        p = self._products[current.symbol]
        if self._deriv is not None and self._deriv.handles(p.symbol):
            need, have = self._deriv.edit_need(
                client_order_id, p.symbol, current.side, remaining, new_price, ts
            )
            if need > have:
                raise SimRejected(RejectReason.EDIT_INSUFFICIENT_FUNDS, client_order_id)
            self._apply(engine.edit(client_order_id, ts, size=size, price=price))
            self._deriv.edited(client_order_id, p.symbol, current.side, remaining, new_price, ts)
            edited = engine.order(client_order_id)
            assert edited is not None
            return edited
        if current.side is Side.BUY:
            currency, need = p.quote, self._buy_cost(p, new_price, remaining)
        else:
            currency, need = p.base, remaining
        extra = need - self._ledger.order_hold(client_order_id)
        if extra > self._ledger.available(currency):
            raise SimRejected(RejectReason.EDIT_INSUFFICIENT_FUNDS, client_order_id)
        self._ledger.place_hold(client_order_id, currency, need)
        self._apply(engine.edit(client_order_id, ts, size=size, price=price))
        order = engine.order(client_order_id)
        assert order is not None
        return order

    def expire(self, ts: int) -> list[Update]:
        """Expire GTD orders whose end time is at or before ``ts``, on every product."""
        self._seen(ts)
        ups: list[Update] = []
        for engine in self._engines.values():
            ups.extend(self._apply(engine.expire(ts)))
        return ups

    # ------------------------------------------------------------------ market data

    def on_market(self, event: MarketEvent) -> list[Update]:
        """Drive the engine of the event's symbol (events for other symbols are ignored)."""
        if isinstance(event, Candle):
            return self.on_bar(event)
        if isinstance(event, Trade):
            return self.on_trade(event)
        if isinstance(event, Ticker):
            return self.on_ticker(event)
        return self.apply_book(event)

    def on_bar(self, candle: Candle) -> list[Update]:
        engine = self._engines.get(candle.symbol)
        self._seen(candle.close_ts)
        if engine is None:
            return []
        ups = self._apply(engine.on_bar(candle))
        return ups + self._check_liquidations(candle.close_ts, candle.symbol)

    def on_trade(self, trade: Trade) -> list[Update]:
        engine = self._engines.get(trade.symbol)
        self._seen(trade.ts)
        if engine is None:
            return []
        ups = self._apply(engine.on_trade(trade))
        return ups + self._check_liquidations(trade.ts, trade.symbol)

    def on_ticker(self, ticker: Ticker) -> list[Update]:
        engine = self._engines.get(ticker.symbol)
        self._seen(ticker.ts)
        if engine is None:
            return []
        ups = self._apply(engine.on_ticker(ticker))
        return ups + self._check_liquidations(ticker.ts, ticker.symbol)

    def apply_book(self, update: BookUpdate) -> list[Update]:
        engine = self._engines.get(update.symbol)
        self._seen(update.ts)
        return [] if engine is None else self._apply(engine.apply_book(update))

    # ------------------------------------------------------------------ settlement

    def _seen(self, ts: int) -> None:
        if ts > self.last_ts:
            self.last_ts = ts
        if self._deriv is not None:
            self._run_schedule(ts)

    def advance(self, ts: int) -> None:
        """Let time pass to ``ts`` without market data: funding, margin-window changes,
        expiries and timers that are due run, in time order, reported to the listeners."""
        self._seen(ts)

    def add_timer(self, timer: Timer) -> None:
        """Run ``timer`` in the schedule of time-driven events (derivative exchanges only)."""
        self._timers.append(timer)

    def _next_due(self, ts: int) -> tuple[int, int, str, str, Timer | None] | None:
        event = self._deriv.next_event(ts) if self._deriv is not None else None
        best: tuple[int, int, str, str, Timer | None] | None = (
            None if event is None else (*event, None)
        )
        for timer in self._timers:
            due = timer.due(ts)
            if due is not None and (best is None or (due[0], 3) < best[:2]):
                best = (due[0], 3, "timer", due[1], timer)
        return best

    def _run_schedule(self, ts: int) -> None:
        deriv = self._deriv
        if deriv is None or self._scheduling:
            return
        self._scheduling = True
        try:
            while (event := self._next_due(ts)) is not None:
                t, _, kind, key, timer = event
                if kind == "funding":
                    payment = deriv.apply_funding(key, t)
                    if payment is not None:
                        self._notify_funding(payment)
                elif kind == "window":
                    deriv.window_passed(t)
                elif kind == "expiry":
                    self._expire_product(key, t)
                elif timer is not None:
                    timer.fire(key, t)
                    self.version += 1
                self._check_liquidations(t)
        finally:
            self._scheduling = False

    def _expire_product(self, symbol: str, ts: int) -> None:
        deriv = self._deriv
        assert deriv is not None
        engine = self._engines[symbol]
        for order in engine.open_orders():
            self._apply(engine.cancel(order.client_order_id, ts))
        close = deriv.expire(symbol)
        self.version += 1
        if close is None:
            return
        pos = deriv.position(symbol)
        realized_before = pos.realized_pnl
        cid = deriv.venue_order_id(SETTLEMENT_TAG, symbol)
        self._where[cid] = symbol
        self._by_order_id[engine.order_id_for(cid)] = cid
        ups = engine.external_fill(
            cid, close.side, close.size, close.price, ts, tag=SETTLEMENT_TAG, fee_rate=ZERO
        )
        self._apply(ups)
        fill = ups[-1].fill
        assert fill is not None
        record = deriv.record_settlement(
            close, ts, pos.realized_pnl - realized_before, fill.trade_id
        )
        self._notify_settlement(record)

    def _check_liquidations(self, ts: int, moved: str | None = None) -> list[Update]:
        """Close every position the margin rules say must go (see gpt_trader.sim.margin)."""
        deriv = self._deriv
        out: list[Update] = []
        if deriv is None:
            return out
        for _ in range(len(deriv.symbols()) + 1):
            close = deriv.next_liquidation(ts, moved)
            if close is None:
                break
            engine = self._engines[close.symbol]
            for order in engine.open_orders():
                out.extend(self._apply(engine.cancel(order.client_order_id, ts)))
            cid = deriv.venue_order_id(LIQUIDATION_TAG, close.symbol)
            self._where[cid] = close.symbol
            self._by_order_id[engine.order_id_for(cid)] = cid
            ((order, fill),) = engine.external_fill(
                cid,
                close.side,
                close.size,
                close.price,
                ts,
                tag=LIQUIDATION_TAG,
                fee_rate=engine.taker_fee,
            )
            assert fill is not None
            liq = LiquidationFill.of(fill)
            deriv.mark_liquidation(liq.trade_id)
            out.extend(self._apply([Update(order, liq)]))
            moved = None
        return out

    def _notify_funding(self, payment: FundingPayment) -> None:
        self.version += 1
        for listener in self._listeners:
            callback = getattr(listener, "on_funding", None)
            if callback is not None:
                callback(payment)

    def _notify_settlement(self, settlement: Settlement) -> None:
        self.version += 1
        for listener in self._listeners:
            callback = getattr(listener, "on_settlement", None)
            if callback is not None:
                callback(settlement)

    def _apply(self, ups: list[Update]) -> list[Update]:
        deriv = self._deriv
        moved: dict[str, int] = {}  # derivative symbols whose position a fill moved -> ts
        for order, fill in ups:
            if fill is not None:
                self._settle(fill)
            if order.status.is_terminal:
                self._ledger.release(order.client_order_id)
            if deriv is not None and deriv.handles(order.symbol):
                if fill is not None:
                    moved[order.symbol] = fill.ts
                deriv.after_update(
                    order.symbol,
                    order.client_order_id,
                    order.side,
                    order.remaining,
                    order.status.is_terminal,
                    fill is not None,
                    order.updated_ts,
                )
            self.version += 1
            for listener in self._listeners:
                if fill is not None:
                    listener.on_fill(fill)
                listener.on_order(order)
        for symbol, ts in moved.items():
            ups = ups + self._bind_brackets(symbol, ts)
        return ups

    def _bind_brackets(self, symbol: str, ts: int) -> list[Update]:
        """Keep a derivative's working brackets within its position (module docstring):
        one that no longer closes anything is cancelled, one larger than the position is
        cut to it, so a leg left behind by a close never opens a position."""
        deriv = self.derivatives
        size = deriv.book(symbol).position.size
        engine = self._routes[symbol]
        out: list[Update] = []
        for order in engine.open_orders():
            if order.symbol != symbol or order.order_type is not OrderType.BRACKET:
                continue
            closes = (size > 0 and order.side is Side.SELL) or (size < 0 and order.side is Side.BUY)
            cap = abs(size) if closes else ZERO
            if cap == 0:
                out.extend(self._apply(engine.cancel(order.client_order_id, ts)))
            elif order.remaining > cap:
                out.extend(self._apply(engine.shrink(order.client_order_id, cap, ts)))
                deriv.resized(order.client_order_id, symbol, order.side, cap, ts)
        return out

    def _settle(self, fill: Fill) -> None:
        self._fills.append(fill)
        value = self._record_value(fill)
        if self._deriv is not None and self._deriv.handles(fill.symbol):
            self._deriv.on_fill(fill)
            return
        p = self._products[fill.symbol]
        if fill.side is Side.BUY:
            cost = value + fill.fee
            self._ledger.release(fill.client_order_id, cost)
            self._ledger.debit(p.quote, cost)
            self._ledger.credit(p.base, fill.size)
        else:
            self._ledger.release(fill.client_order_id, fill.size)
            self._ledger.debit(p.base, fill.size)
            self._ledger.credit(p.quote, value - fill.fee)
        self._position(fill.symbol).apply(fill)

    def _record_value(self, fill: Fill) -> Decimal:
        """The value ``fill`` settles: on spot, what it moves the quote currency's rounded
        running total by; on a derivative (margin, not cash, trades) its value rounded."""
        p = self._products[fill.symbol]
        notional = fill.price * fill.size * p.contract_size
        if p.is_derivative:
            value = quantize(notional, currency_increment(p.quote))
        else:
            signed = notional if fill.side is Side.SELL else -notional
            flow = self._flows.get(p.quote, ZERO)
            value = abs(settled_move(flow, signed, p.quote))
            self._flows[p.quote] = flow + signed
        cid = fill.client_order_id
        self._values[cid] = self._values.get(cid, ZERO) + value
        return value

    def market_cost(self, symbol: str, size: Decimal) -> Decimal | None:
        """What a MARKET BUY of ``size`` on ``symbol`` would cost now, as this account
        settles it (see :meth:`MatchingEngine.market_cost`); None when not known now."""
        p = self._products[symbol]
        return self._routes[symbol].market_cost(size, self._flows.get(p.quote, ZERO))

    def size_for_quote(self, symbol: str, side: Side, quote: Decimal) -> Decimal:
        """The base size a MARKET order on ``symbol`` spending ``quote`` gets now (see
        :meth:`MatchingEngine.size_for_quote`), settled as this account settles it."""
        p = self._products[symbol]
        return self._routes[symbol].size_for_quote(side, quote, self._flows.get(p.quote, ZERO))

    def filled_value(self, client_order_id: str) -> Decimal:
        """What an order's fills were worth as settled (cash moved before fees)."""
        return self._values.get(client_order_id, ZERO)

    def order_hold(self, client_order_id: str) -> Decimal:
        """What a working order holds now (quote or base currency; margin on derivatives)."""
        if self._deriv is not None and self._deriv.order_hold(client_order_id):
            return self._deriv.order_hold(client_order_id)
        return self._ledger.order_hold(client_order_id)

    def _position(self, symbol: str) -> Position:
        pos = self._positions.get(symbol)
        if pos is None:
            pos = self._positions[symbol] = Position(symbol)
        return pos

    # ------------------------------------------------------------------ derivative accounts

    def transfer_to_derivatives(self, account: str, amount: Decimal, ts: int) -> None:
        """Move ``amount`` from the spot wallet of the pool's currency into the derivative
        pool ``account``. ValueError when the spot wallet has too little available."""
        deriv = self.derivatives
        self._seen(ts)
        currency = deriv.currency(account)
        if amount <= 0 or self._ledger.available(currency) < amount:
            raise ValueError(f"cannot transfer {amount} {currency} to {account}")
        self._ledger.debit(currency, amount)
        deriv.deposit(account, amount)
        self.version += 1

    def transfer_from_derivatives(self, account: str, amount: Decimal, ts: int) -> None:
        """Move ``amount`` out of the derivative pool ``account`` into the spot wallet of its
        currency. ValueError when the pool cannot spare it (see ``withdrawable``)."""
        deriv = self.derivatives
        self._seen(ts)
        deriv.withdraw(account, amount, ts)
        self._ledger.credit(deriv.currency(account), amount)
        self.version += 1

    def allocate(self, symbol: str, amount: Decimal, ts: int) -> Decimal:
        """Add margin to an open ISOLATED position (ValueError when impossible)."""
        self._seen(ts)
        out = self.derivatives.allocate(symbol, amount, ts)
        self.version += 1
        return out

    # ------------------------------------------------------------------ queries

    def products(self) -> list[Product]:
        return list(self._products.values())

    def product(self, symbol: str) -> Product | None:
        return self._products.get(symbol)

    def engine(self, symbol: str) -> MatchingEngine:
        """The matching engine of ``symbol``, its book's for an alias (KeyError if unknown)."""
        return self._routes[symbol]

    def book_symbol(self, symbol: str) -> str:
        """The symbol whose book ``symbol`` trades in (itself unless it is an alias)."""
        return self._aliases.get(symbol, symbol)

    def aliases(self) -> dict[str, str]:
        """Alias symbol -> the symbol of its book."""
        return dict(self._aliases)

    def _engine_of(self, client_order_id: str) -> MatchingEngine | None:
        symbol = self._where.get(client_order_id)
        return self._routes.get(symbol) if symbol else None

    @property
    def starting_balances(self) -> dict[str, Decimal]:
        return dict(self._starting)

    def balances(self) -> list[Balance]:
        """Every currency ever held, sorted by name."""
        return self._ledger.balances()

    def balance(self, currency: str) -> Balance:
        return Balance(currency, self._ledger.total(currency), self._ledger.available(currency))

    def positions(self) -> list[Position]:
        """Net positions derived from the fills (average cost), marked at the last price.

        Starting base balances are not positions: they appear in :meth:`balances` only.
        Flat positions are left out. Derivative positions (signed contracts, with
        ``contract_size`` and ``funding``) come from the margin ledger.
        """
        out: list[Position] = [] if self._deriv is None else self._deriv.positions()
        for symbol, pos in self._positions.items():
            if pos.is_flat:
                continue
            last = self._routes[symbol].last_price
            out.append(dataclasses.replace(pos, mark_price=last if last is not None else ZERO))
        return out

    def last_price(self, symbol: str) -> Decimal | None:
        engine = self._routes.get(symbol)
        return None if engine is None else engine.last_price

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        engine = self._routes[symbol]
        return engine.best_bid(), engine.best_ask()

    def order(self, client_order_id: str) -> Order | None:
        """Any order this exchange saw (rejected ones too), by client_order_id."""
        symbol = self._where.get(client_order_id)
        if symbol is None:
            return None
        if not symbol:
            return self._unrouted[client_order_id].copy()
        return self._routes[symbol].order(client_order_id)

    def order_by_id(self, order_id: str) -> Order | None:
        """Any order by the venue's ``order_id``."""
        cid = self._by_order_id.get(order_id)
        return None if cid is None else self.order(cid)

    def orders(self, symbol: str | None = None) -> list[Order]:
        """All orders in arrival order, optionally of one symbol."""
        out: list[Order] = []
        for cid, sym in self._where.items():
            if symbol is not None and sym != symbol:
                continue
            order = self.order(cid)
            if order is not None:
                out.append(order)
        return out

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders that can still fill, in arrival order."""
        return [o for o in self.orders(symbol) if not o.status.is_terminal]

    def fills(
        self,
        since_ts: int = 0,
        *,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> list[Fill]:
        """Fills with ``ts >= since_ts`` in the order they happened, optionally filtered."""
        return [
            f
            for f in self._fills
            if f.ts >= since_ts
            and (symbol is None or f.symbol == symbol)
            and (client_order_id is None or f.client_order_id == client_order_id)
        ]

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        """The whole account as plain JSON types (Decimals as exact strings).

        ``orders`` holds every order in arrival order (each with the engine's ``"book"``
        bookkeeping; orders for unknown products have none), ``fills`` every fill in order,
        ``ledger`` totals and per-order holds, ``engines`` each product's counters and prices.
        """
        engines: dict[str, dict[str, Any]] = {}
        by_cid: dict[str, dict[str, Any]] = {}
        for symbol, engine in self._engines.items():
            state = engine.to_state()
            for item in state.pop("orders"):
                by_cid[item["client_order_id"]] = item
            engines[symbol] = state
        for cid, order in self._unrouted.items():
            by_cid[cid] = order_to_json(order)
        return {
            "version": STATE_VERSION,
            "last_ts": self.last_ts,
            "starting": {c: str(v) for c, v in self._starting.items()},
            "ledger": self._ledger.to_state(),
            "orders": [by_cid[cid] for cid in self._where if cid in by_cid],
            "fills": [fill_to_json(f) for f in self._fills],
            "engines": engines,
            **({} if self._deriv is None else {"derivatives": self._deriv.to_state()}),
        }

    def load_state(self, state: dict[str, Any], *, source: str = "state") -> None:
        """Replace the account with ``state`` from :meth:`to_state`.

        Raises :class:`UserError` when the state holds orders of a product this exchange
        does not trade (``source`` names the file in the message).
        """
        if state.get("version") != STATE_VERSION:
            raise UserError(f"{source}: unsupported sim state version {state.get('version')!r}")
        grouped: dict[str, list[dict[str, Any]]] = {s: [] for s in self._engines}
        unrouted: dict[str, Order] = {}
        where: dict[str, str] = {}
        for item in state["orders"]:
            symbol = str(item["symbol"])
            if "book" not in item:
                unrouted[str(item["client_order_id"])] = order_from_json(item)
                where[str(item["client_order_id"])] = ""
                continue
            if symbol not in self._routes:
                raise UserError(
                    f"{source} has orders for {symbol}, which this sim does not trade; "
                    "add the product or delete the file"
                )
            grouped[self.book_symbol(symbol)].append(item)
            where[str(item["client_order_id"])] = symbol
        fresh = {"seq": 0, "trades": 0, "last_ts": 0}
        for symbol, engine in self._engines.items():
            counters = state["engines"].get(symbol, fresh)
            engine.load_state({**counters, "orders": grouped[symbol]})
        self.last_ts = int(state["last_ts"])
        self._starting = {str(c): need_dec(v) for c, v in state["starting"].items()}
        self._ledger = Ledger()
        self._ledger.load_state(state["ledger"])
        self._deriv = self._new_derivatives()
        deriv = self._deriv
        if deriv is not None and "derivatives" in state:
            deriv.load_state(state["derivatives"])
        self._fills = []
        self._flows, self._values = {}, {}
        self._positions = {}
        for item in state["fills"]:
            fill = fill_from_json(item)
            self._record_value(fill)
            if deriv is not None and deriv.handles(fill.symbol):
                # derivative positions are part of the ledger's own state
                if deriv.is_liquidation(fill.trade_id):
                    fill = LiquidationFill.of(fill)
                self._fills.append(fill)
                continue
            self._fills.append(fill)
            self._position(fill.symbol).apply(fill)
        self._unrouted = unrouted
        self._where = where
        self._by_order_id = {}
        for cid in self._where:
            known = self.order(cid)
            if known is not None:
                self._by_order_id[known.order_id] = cid
        self.version += 1
