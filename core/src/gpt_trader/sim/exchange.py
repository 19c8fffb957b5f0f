"""The simulated exchange: one matching engine per product, a balance ledger, histories.

:class:`SimExchange` is what the in-process sim broker drives and what the Coinbase-protocol
server wraps, so its API is synchronous, takes explicit timestamps (int ns UTC) and speaks
only Decimals and domain objects. Every change is reported to the listeners
(``on_fill(fill)`` then ``on_order(order)`` for an update that carries a fill, just
``on_order(order)`` otherwise), synchronously, once, in the order it happened, after the
ledger has been settled for it.

Funds: an accepted BUY holds ``price * size`` plus the taker fee on it, in the quote
currency (price = the limit, or for a MARKET order the estimated average price); a SELL
holds its size in the base currency. Too little available -> REJECTED ``INSUFFICIENT_FUND``.
A buy fill debits ``price * size + fee`` from the quote (out of the order's hold first) and
credits the base; a sell fill debits the base and credits ``price * size - fee``. Spot only:
no shorting, ``reduce_only`` and ``leverage`` are ignored. In ``next_open`` mode a market
buy is held at the last price and may cost more at the next open; the difference comes out
of the available balance (which can then go below zero, which a real venue would not allow).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from gpt_trader.domain import (
    Balance,
    BookUpdate,
    Candle,
    Fill,
    MarketEvent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Side,
    Ticker,
    Trade,
)
from gpt_trader.errors import UserError
from gpt_trader.protocols import BrokerListener
from gpt_trader.sim import reasons as R
from gpt_trader.sim.ledger import Ledger
from gpt_trader.sim.matching import (
    DEFAULT_MAKER_FEE,
    DEFAULT_TAKER_FEE,
    MarketFill,
    MatchingEngine,
    Update,
)
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


@dataclass(frozen=True, slots=True)
class CancelResult:
    """One order's cancel outcome; ``failure_reason`` is a Coinbase cancel failure reason."""

    client_order_id: str
    success: bool
    failure_reason: str = ""


def _ceil(amount: Decimal, increment: Decimal) -> Decimal:
    return (amount / increment).to_integral_value(rounding=ROUND_CEILING) * increment


class SimExchange:
    """Several :class:`MatchingEngine` s sharing one account.

    ``products``: the tradable products (a mapping by symbol, or an iterable).
    ``balances``: starting balances per currency, e.g. ``{"USD": Decimal(100_000)}``.
    ``maker_fee`` / ``taker_fee``: fee rates (defaults 0.0040 / 0.0060).
    ``market_fill``: ``"immediate"`` or ``"next_open"`` (see :mod:`gpt_trader.sim.matching`).
    ``slippage_bps``, ``volume_participation``: passed to every engine.
    ``seed``: makes the order ids (uuid5 of the client_order_id in a seed-derived namespace);
    the same seed and the same calls give the same ids, fills and balances.
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
        seed: int = 0,
        id_prefix: str = "sim",
    ) -> None:
        items = products.values() if isinstance(products, Mapping) else products
        self._products: dict[str, Product] = {p.symbol: p for p in items}
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim/{seed}")
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.market_fill: MarketFill = market_fill
        self._engines: dict[str, MatchingEngine] = {
            symbol: MatchingEngine(
                product,
                maker_fee=maker_fee,
                taker_fee=taker_fee,
                market_fill=market_fill,
                slippage_bps=slippage_bps,
                volume_participation=volume_participation,
                id_prefix=id_prefix,
                id_namespace=self._namespace,
            )
            for symbol, product in self._products.items()
        }
        self._starting: dict[str, Decimal] = {c: Decimal(v) for c, v in (balances or {}).items()}
        self._ledger = Ledger(self._starting)
        self._where: dict[str, str] = {}  # client_order_id -> symbol ("" = unknown product)
        self._by_order_id: dict[str, str] = {}
        self._unrouted: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._positions: dict[str, Position] = {}
        self._listeners: list[BrokerListener] = []
        self.version = 0
        """Bumped on every change; a persister saves when it moved."""
        self.last_ts = 0
        """Latest time seen in any call or market event."""

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: BrokerListener) -> None:
        """Call ``listener.on_fill`` / ``listener.on_order`` for every future change."""
        self._listeners.append(listener)

    def remove_listener(self, listener: BrokerListener) -> None:
        self._listeners.remove(listener)

    # ------------------------------------------------------------------ trading

    def submit(self, request: OrderRequest, ts: int) -> Order:
        """Place an order at ``ts``; returns the order as it stands after placing.

        A ``client_order_id`` seen before returns that original order and changes nothing.
        A refusal comes back as a REJECTED order with ``reject_reason`` set.
        """
        cid = request.client_order_id
        if cid in self._where:
            existing = self.order(cid)
            assert existing is not None
            return existing
        self._seen(ts)
        engine = self._engines.get(request.symbol)
        if engine is None:
            return self._reject_unrouted(request, ts)
        normal = normalize(request)
        if isinstance(normal, str):
            reason: str | None = normal
        else:
            request = normal
            reason = engine.check(request, ts)
        hold = self._hold_for(engine, request) if reason is None else None
        if reason is None and hold is not None and self._ledger.available(hold[0]) < hold[1]:
            reason = R.INSUFFICIENT_FUND
        self._where[cid] = request.symbol
        self._by_order_id[engine.order_id_for(cid)] = cid
        if reason is not None:
            self._apply(engine.reject(request, ts, reason))
        else:
            if hold is not None:
                self._ledger.place_hold(cid, *hold)
            self._apply(engine.submit(request, ts))
        order = engine.order(cid)
        assert order is not None
        return order

    def _reject_unrouted(self, request: OrderRequest, ts: int) -> Order:
        order = Order.from_request(request, ts)
        order.order_id = str(uuid.uuid5(self._namespace, request.client_order_id))
        order.status = OrderStatus.REJECTED
        order.reject_reason = R.INVALID_PRODUCT_ID
        self._where[order.client_order_id] = ""
        self._by_order_id[order.order_id] = order.client_order_id
        self._unrouted[order.client_order_id] = order
        self._apply([Update(order.copy())])
        return order.copy()

    def _hold_for(
        self, engine: MatchingEngine, request: OrderRequest
    ) -> tuple[str, Decimal] | None:
        p = engine.product
        if request.side is Side.SELL:
            return p.base, request.size
        if request.order_type is OrderType.MARKET:
            price = engine.estimate_price(Side.BUY, request.size)
        else:
            price = request.limit_price
        if price is None:
            return None
        return p.quote, self._buy_cost(p, price, request.size)

    def _buy_cost(self, product: Product, price: Decimal, size: Decimal) -> Decimal:
        notional = price * size
        return notional + _ceil(notional * self.taker_fee, product.quote_increment)

    def cancel(self, client_order_id: str, ts: int) -> CancelResult:
        """Cancel one working order; the reason says why not when ``success`` is False."""
        self._seen(ts)
        engine = self._engine_of(client_order_id)
        if engine is None:
            reason = R.UNKNOWN_CANCEL_ORDER
            if client_order_id in self._unrouted:
                reason = R.NOT_ALLOWED_TO_CANCEL
            return CancelResult(client_order_id, False, reason)
        reason_or_none = engine.cancel_error(client_order_id)
        if reason_or_none is not None:
            return CancelResult(client_order_id, False, reason_or_none)
        self._apply(engine.cancel(client_order_id, ts))
        return CancelResult(client_order_id, True)

    def cancel_many(self, client_order_ids: Iterable[str], ts: int) -> list[CancelResult]:
        return [self.cancel(cid, ts) for cid in client_order_ids]

    def edit(
        self,
        client_order_id: str,
        ts: int,
        *,
        size: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Order:
        """Edit a working LIMIT GTC order (new total ``size`` and/or ``price``).

        Raises :class:`~gpt_trader.sim.reasons.SimRejected` (a ``BrokerError``) with a
        Coinbase edit failure reason, e.g. ``CANNOT_EDIT_TO_BELOW_FILLED_SIZE``.
        """
        self._seen(ts)
        engine = self._engine_of(client_order_id)
        if engine is None:
            raise R.SimRejected(R.ORDER_NOT_FOUND, client_order_id)
        reason = engine.edit_error(client_order_id, size, price)
        if reason is not None:
            raise R.SimRejected(reason, client_order_id)
        current = engine.order(client_order_id)
        assert current is not None
        assert current.limit_price is not None
        new_size = current.size if size is None else size
        new_price = current.limit_price if price is None else price
        remaining = new_size - current.filled_size
        p = engine.product
        if current.side is Side.BUY:
            currency, need = p.quote, self._buy_cost(p, new_price, remaining)
        else:
            currency, need = p.base, remaining
        extra = need - self._ledger.order_hold(client_order_id)
        if extra > self._ledger.available(currency):
            raise R.SimRejected(R.EDIT_INSUFFICIENT_FUND, client_order_id)
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
        return [] if engine is None else self._apply(engine.on_bar(candle))

    def on_trade(self, trade: Trade) -> list[Update]:
        engine = self._engines.get(trade.symbol)
        self._seen(trade.ts)
        return [] if engine is None else self._apply(engine.on_trade(trade))

    def on_ticker(self, ticker: Ticker) -> list[Update]:
        engine = self._engines.get(ticker.symbol)
        self._seen(ticker.ts)
        return [] if engine is None else self._apply(engine.on_ticker(ticker))

    def apply_book(self, update: BookUpdate) -> list[Update]:
        engine = self._engines.get(update.symbol)
        self._seen(update.ts)
        return [] if engine is None else self._apply(engine.apply_book(update))

    # ------------------------------------------------------------------ settlement

    def _seen(self, ts: int) -> None:
        self.last_ts = max(self.last_ts, ts)

    def _apply(self, ups: list[Update]) -> list[Update]:
        for order, fill in ups:
            if fill is not None:
                self._settle(fill)
            if order.status.is_terminal:
                self._ledger.release(order.client_order_id)
            self.version += 1
            for listener in self._listeners:
                if fill is not None:
                    listener.on_fill(fill)
                listener.on_order(order)
        return ups

    def _settle(self, fill: Fill) -> None:
        p = self._products[fill.symbol]
        notional = fill.price * fill.size
        if fill.side is Side.BUY:
            cost = notional + fill.fee
            self._ledger.release(fill.client_order_id, cost)
            self._ledger.debit(p.quote, cost)
            self._ledger.credit(p.base, fill.size)
        else:
            self._ledger.release(fill.client_order_id, fill.size)
            self._ledger.debit(p.base, fill.size)
            self._ledger.credit(p.quote, notional - fill.fee)
        self._fills.append(fill)
        self._position(fill.symbol).apply(fill)

    def _position(self, symbol: str) -> Position:
        pos = self._positions.get(symbol)
        if pos is None:
            pos = self._positions[symbol] = Position(symbol)
        return pos

    # ------------------------------------------------------------------ queries

    def products(self) -> list[Product]:
        return list(self._products.values())

    def product(self, symbol: str) -> Product | None:
        return self._products.get(symbol)

    def engine(self, symbol: str) -> MatchingEngine:
        """The matching engine of ``symbol`` (KeyError if unknown); for inspection."""
        return self._engines[symbol]

    def _engine_of(self, client_order_id: str) -> MatchingEngine | None:
        symbol = self._where.get(client_order_id)
        return self._engines.get(symbol) if symbol else None

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
        Flat positions are left out.
        """
        out: list[Position] = []
        for symbol, pos in self._positions.items():
            if pos.is_flat:
                continue
            last = self._engines[symbol].last_price
            out.append(dataclasses.replace(pos, mark_price=last if last is not None else ZERO))
        return out

    def last_price(self, symbol: str) -> Decimal | None:
        engine = self._engines.get(symbol)
        return None if engine is None else engine.last_price

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        engine = self._engines[symbol]
        return engine.best_bid(), engine.best_ask()

    def order(self, client_order_id: str) -> Order | None:
        """Any order this exchange saw (rejected ones too), by client_order_id."""
        symbol = self._where.get(client_order_id)
        if symbol is None:
            return None
        if not symbol:
            return self._unrouted[client_order_id].copy()
        return self._engines[symbol].order(client_order_id)

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
            if symbol not in grouped:
                raise UserError(
                    f"{source} has orders for {symbol}, which this sim does not trade; "
                    "add the product or delete the file"
                )
            grouped[symbol].append(item)
            where[str(item["client_order_id"])] = symbol
        fresh = {"seq": 0, "trades": 0, "last_ts": 0}
        for symbol, engine in self._engines.items():
            counters = state["engines"].get(symbol, fresh)
            engine.load_state({**counters, "orders": grouped[symbol]})
        self.last_ts = int(state["last_ts"])
        self._starting = {str(c): need_dec(v) for c, v in state["starting"].items()}
        self._ledger = Ledger()
        self._ledger.load_state(state["ledger"])
        self._fills = []
        self._positions = {}
        for item in state["fills"]:
            fill = fill_from_json(item)
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
