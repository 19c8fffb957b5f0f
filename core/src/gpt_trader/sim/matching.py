"""The matching engine for ONE product: order book, order types, and the market-data fill model.

Every method that changes something returns the changes as a list of :class:`Update`
``(order_copy, fill_or_None)`` in the order they happened. Each update is produced exactly
once, so the caller (the exchange) can settle balances and forward every order update and
every fill once, in order. The engine never calls out and never reads a clock: times come in
as ``ts`` arguments (int nanoseconds UTC) or from the market events.

What happens to an order
------------------------
* Accepted orders produce an ``OPEN`` update first; each fill then produces an update
  (``PARTIALLY_FILLED`` / ``FILLED``) carrying the fill; ``CANCELLED`` / ``EXPIRED`` end it.
  Rejected orders produce one ``REJECTED`` update and are kept (so a retried
  ``client_order_id`` gets the original answer back, as venues do).
* Incoming orders match, best price first, against: synthetic levels from
  :meth:`apply_book`, our own resting orders (price-time priority; at one price synthetic
  liquidity, which was there first, comes before ours), and, in ``"immediate"`` mode when the
  opposite side has no synthetic levels, an unlimited *implied touch* at the last known
  ask/bid (``± slippage_bps``). A fill against our own resting order produces a TAKER fill
  for the incoming order and a MAKER fill for the resting one, each with its own trade id.
* ``market_fill="immediate"``: MARKET orders and IOC/FOK limits fill at once against the
  liquidity above; a MARKET order with no price at all is rejected ``INVALID_NO_LIQUIDITY``.
  ``market_fill="next_open"`` (backtests: decide at bar close, fill at the next open):
  MARKET orders and IOC/FOK limits wait for the next bar whose open time is at or after the
  order's creation, and fill at that bar's open (``± slippage``); GTC/GTD limits only match
  real book liquidity on arrival and otherwise rest.
* STOP_LIMIT (GTC/GTD only): a BUY triggers when the price rises to ``>= stop_price``, a
  SELL when it falls to ``<= stop_price`` (trades, tickers, or a bar's high/low). A stop
  already on the wrong side of the last price is rejected, as venues do. Once triggered
  it behaves as a limit order.
* BRACKET (``trigger_bracket``, GTC/GTD): a take-profit limit at ``limit_price`` that rests
  in the book like any limit, plus a stop-loss trigger at ``stop_price`` (below the limit
  for a SELL, above it for a BUY; checked against the last price like a stop-limit's).
  When the stop triggers (on a print, a ticker or a bar's range, before the take-profit in
  the same bar: the conservative reading), the remainder leaves the book and is sold
  (bought) at once as a taker at the trigger price; what cannot fill is CANCELLED.
  In ``next_open`` mode a bracket that protects a market fill made at the open of the bar
  just replayed (opposite side, at most that size) is placed as of that open: it is checked
  against the open and then lives through the rest of that bar (stop first, then the
  take-profit), as a bracket sent the moment the entry filled would. So is a lone exit leg
  (a stop-limit or a GTC limit tagged ``exit:``) protecting such a fill.
* TIF: GTC rests; GTD rests until ``end_ts`` (expired by :meth:`expire` and by every market
  event's time); IOC cancels the unfilled remainder; FOK fills completely or is CANCELLED
  with no fills. MARKET orders are always immediate-or-cancel (FOK when asked).
* ``post_only`` limits that would take liquidity (the best opposite price, or the last price
  when no book is known, is at or through the limit) are REJECTED
  ``INVALID_LIMIT_PRICE_POST_ONLY``.

Bar fill model (:meth:`on_bar`), for orders that existed at the bar's open
------------------------------------------------------------------------
1. GTD orders whose end time is at or before the bar's open expire.
2. Waiting (``next_open``) orders fill at the open (taker); IOC/FOK limits only if the open
   is at or through their limit, FOK only if the whole size fits the participation cap.
3. Stops trigger on the bar's range; the trigger price is the stop (or the open, if the bar
   opened through it). If the trigger price is within the limit, the order fills there as
   taker; otherwise it rests.
4. Resting limits: a BUY fills at the open (taker) when the bar opens below its limit;
   otherwise at its limit (maker) when ``low < limit``. A touch (``low == limit``) is not a
   fill: the queue position is unknown, so the model is conservative (``fill_on_touch``
   makes it one). SELLs mirror this. A ``post_only`` limit never takes liquidity: when the
   bar opens through it, it fills at its limit, as maker.
5. ``volume_participation`` (a fraction of the bar volume, per side, None = unlimited) caps
   limit and stop fills in the bar, producing partial fills; MARKET orders fill whole.
6. GTD orders whose end time is within the bar expire after it.
Fills at the open are stamped with the bar's open time, fills inside the bar with its close.

Trades (:meth:`on_trade`): resting orders on the side opposite the taker fill at their own
price (maker) when strictly better than the print (or equal to it with ``fill_on_touch``), up to the printed size in priority
order; then stops are checked against the print. Tickers update bid/ask/last and trigger
stops. Book updates replace synthetic levels (consumed by takers until the next update).

Fees and rounding: a fill's fee is ``price * size * contract_size * rate`` rounded UP to the
quote currency's increment (cents for USD; :func:`gpt_trader.domain.money.fee_amount`): a
venue never undercharges, and cash stays on the increment after any number of fills (the
exchange settles traded value rounded too, see :mod:`gpt_trader.sim.ledger`).

Aliases: an engine can serve other symbols from its book (``aliases``, e.g. a ``BTC-USDC``
twin of ``BTC-USD``): their orders are validated as the book's, match in the one book and
keep their own symbol, so the exchange settles them in their own currencies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Literal, NamedTuple, get_args

from gpt_trader.domain import (
    BookUpdate,
    Candle,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)
from gpt_trader.domain.money import currency_increment, fee_amount
from gpt_trader.domain.reasons import RejectReason
from gpt_trader.sim.book import BookSide, Entry
from gpt_trader.sim.ledger import settled_move
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.state import need_dec, order_from_json, order_to_json, undec
from gpt_trader.sim.validation import normalize, price_reason, request_reason, size_reason

MarketFill = Literal["immediate", "next_open"]
MARKET_FILLS: tuple[str, ...] = get_args(MarketFill)

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)
DEFAULT_MAKER_FEE = Decimal("0.0040")
DEFAULT_TAKER_FEE = Decimal("0.0060")
DEFAULT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "gpt-trader-sim/0")


def uuid5_text(namespace: hashlib._Hash, name: str) -> str:
    """``str(uuid.uuid5(ns, name))`` without building a UUID object on the way (it is made
    once per order); ``namespace`` is :func:`uuid5_namespace` of ``ns``."""
    h = namespace.copy()  # cheaper than hashing the namespace's 16 bytes again
    h.update(name.encode())
    digest = bytearray(h.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def uuid5_namespace(namespace: uuid.UUID) -> hashlib._Hash:
    """The SHA-1 state after ``namespace``'s bytes, which :func:`uuid5_text` continues."""
    return hashlib.sha1(namespace.bytes, usedforsecurity=False)


class Update(NamedTuple):
    """One state change: a copy of the order after it, and the fill that caused it, if any."""

    order: Order
    fill: Fill | None = None


class _Level(NamedTuple):
    """Liquidity an incoming order can take: ``size`` None means unlimited (implied touch)."""

    price: Decimal
    size: Decimal | None
    entry: Entry | None
    rank: int
    seq: int


Budget = dict[Side, Decimal | None]


class MatchingEngine:
    """A simulated order book and fill model for one product (see the module docstring).

    ``maker_fee`` / ``taker_fee`` are rates (0.004 = 40 bps); a fill's fee is
    ``price * size * contract_size * rate`` rounded up to the quote currency's increment.
    ``slippage_bps`` worsens implied-touch and bar-open taker prices (never book levels).
    ``aliases``: other symbols whose orders this book serves (see the module docstring).
    Order ids are ``uuid5(id_namespace, client_order_id)``; trade ids are
    ``f"{id_prefix}-{symbol}-{n}"`` with a per-engine counter.
    """

    def __init__(
        self,
        product: Product,
        *,
        maker_fee: Decimal = DEFAULT_MAKER_FEE,
        taker_fee: Decimal = DEFAULT_TAKER_FEE,
        market_fill: MarketFill = "immediate",
        slippage_bps: Decimal = ZERO,
        volume_participation: Decimal | None = None,
        fill_on_touch: bool = False,
        id_prefix: str = "sim",
        id_namespace: uuid.UUID = DEFAULT_NAMESPACE,
        aliases: Iterable[str] = (),
    ) -> None:
        if market_fill not in MARKET_FILLS:
            raise ValueError(f"market_fill must be one of {MARKET_FILLS}, not {market_fill!r}")
        if maker_fee < 0 or taker_fee < 0 or slippage_bps < 0:
            raise ValueError("fees and slippage must not be negative")
        if volume_participation is not None and not 0 < volume_participation <= 1:
            raise ValueError("volume_participation must be in (0, 1]")
        self.product = product
        self.aliases = frozenset(aliases)
        self._cash_increment = currency_increment(product.quote)
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.market_fill: MarketFill = market_fill
        self.slippage_bps = slippage_bps
        self.volume_participation = volume_participation
        self.fill_on_touch = fill_on_touch
        self._prefix = id_prefix
        self._id_hash = uuid5_namespace(id_namespace)
        self._bids = BookSide(Side.BUY)
        self._asks = BookSide(Side.SELL)
        self._orders: dict[str, Entry] = {}
        self._working: dict[str, Entry] = {}
        self._stops: list[Entry] = []
        self._brackets: list[Entry] = []
        self._deferred: list[Entry] = []
        self._seq = 0
        self._trades = 0
        self.last_price: Decimal | None = None
        self.last_ts = 0
        self._ref_bid: Decimal | None = None
        self._ref_ask: Decimal | None = None
        # next_open: the bar just replayed and what market orders bought/sold at its open,
        # which a bracket sent in reaction protects from that open on.
        self._bar: Candle | None = None
        self._opened: dict[Side, Decimal] = {}

    # ------------------------------------------------------------------ lookups

    @property
    def symbol(self) -> str:
        return self.product.symbol

    def order_id_for(self, client_order_id: str) -> str:
        return uuid5_text(self._id_hash, client_order_id)

    def order(self, client_order_id: str) -> Order | None:
        entry = self._orders.get(client_order_id)
        return None if entry is None else entry.order.copy()

    def orders(self) -> list[Order]:
        """Every order this engine saw (rejected ones too), in arrival order."""
        return [e.order.copy() for e in self._orders.values()]

    def open_orders(self) -> list[Order]:
        """Orders that can still fill (OPEN, PARTIALLY_FILLED), in arrival order."""
        return [e.order.copy() for e in self._working.values()]

    def best_bid(self) -> Decimal | None:
        """Best bid: our resting bids and synthetic levels, else the last known bid."""
        best = self._bids.best()
        return self._ref_bid if best is None else best

    def best_ask(self) -> Decimal | None:
        """Best ask: our resting asks and synthetic levels, else the last known ask."""
        best = self._asks.best()
        return self._ref_ask if best is None else best

    def book_levels(self, depth: int = 50) -> tuple[list[tuple[Decimal, Decimal]], ...]:
        """Aggregated (price, size) bids and asks, best first: synthetic plus ours."""
        out: list[list[tuple[Decimal, Decimal]]] = []
        for side in (self._bids, self._asks):
            agg: dict[Decimal, Decimal] = dict(side.levels())
            for e in side.entries:
                agg[e.limit] = agg.get(e.limit, ZERO) + e.order.remaining
            ordered = sorted(agg.items(), reverse=side.side is Side.BUY)
            out.append(ordered[:depth])
        return out[0], out[1]

    # ------------------------------------------------------------------ submit

    def check(self, request: OrderRequest, ts: int) -> str | None:
        """Why ``request`` would be rejected now (a :class:`Reason`), or None.

        The request alone (:func:`~gpt_trader.sim.validation.request_reason`), then what the
        market says: a MARKET order needs a price, a post-only limit must not cross.
        """
        normal = normalize(request)
        if isinstance(normal, str):
            return normal
        request = normal
        if request.symbol in self.aliases:
            request = dataclasses.replace(request, symbol=self.symbol)  # checked as the book's
        bar = self._entry_bar(request, ts)
        last = self.last_price if bar is None else bar.open
        reason = request_reason(self.product, request, ts, last)
        if reason is not None:
            return reason
        if (
            request.order_type is OrderType.MARKET
            and self.estimate_price(request.side, request.size) is None
        ):
            return RejectReason.NO_LIQUIDITY
        if (
            request.post_only
            and request.limit_price is not None
            and self._would_cross(request.side, request.limit_price)
        ):
            return RejectReason.POST_ONLY_WOULD_CROSS
        return None

    def submit(self, request: OrderRequest, ts: int) -> list[Update]:
        """Place ``request`` at time ``ts``. A known ``client_order_id`` changes nothing: the
        result is ``[]`` and :meth:`order` gives the original."""
        if request.client_order_id in self._orders:
            return []
        normal = normalize(request)
        if isinstance(normal, str):
            return self.reject(request, ts, normal)
        reason = self.check(normal, ts)
        if reason is not None:
            return self.reject(normal, ts, reason)
        return self.accept(normal, ts)

    def accept(self, request: OrderRequest, ts: int) -> list[Update]:
        """Place ``request``, already normalised and passed by :meth:`check` at ``ts`` (the
        exchange checks once, with its funds, before placing)."""
        if request.client_order_id in self._orders:
            return []
        self._seq += 1
        order = Order.from_request(request, ts)
        order.order_id = self.order_id_for(request.client_order_id)
        order.status = OrderStatus.OPEN
        entry = Entry(order, self._seq)
        self._orders[order.client_order_id] = entry
        self._working[order.client_order_id] = entry
        ups = [Update(order.copy())]
        self._place(entry, ts, ups)
        return ups

    def reject(self, request: OrderRequest, ts: int, reason: str) -> list[Update]:
        """Record ``request`` as REJECTED with ``reason`` (used for the exchange's own checks)."""
        if request.client_order_id in self._orders:
            return []
        self._seq += 1
        order = Order.from_request(request, ts)
        order.order_id = self.order_id_for(request.client_order_id)
        order.status = OrderStatus.REJECTED
        order.reject_reason = reason
        self._orders[order.client_order_id] = Entry(order, self._seq)
        return [Update(order.copy())]

    def external_fill(
        self,
        client_order_id: str,
        side: Side,
        size: Decimal,
        price: Decimal,
        ts: int,
        *,
        tag: str,
        fee_rate: Decimal,
    ) -> list[Update]:
        """A venue-originated order executed in full at ``price`` outside the book
        (a derivatives liquidation or expiry settlement): recorded like any order (lookups,
        persistence), one FILLED update carrying its TAKER fill, fee at ``fee_rate``."""
        self._seq += 1
        order = Order(
            client_order_id=client_order_id,
            symbol=self.product.symbol,
            side=side,
            size=size,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            status=OrderStatus.OPEN,
            order_id=self.order_id_for(client_order_id),
            reduce_only=True,
            created_ts=ts,
            updated_ts=ts,
            tag=tag,
        )
        entry = Entry(order, self._seq)
        self._orders[client_order_id] = entry
        return [self._fill(entry, price, size, Liquidity.TAKER, ts, rate=fee_rate)]

    def _place(self, entry: Entry, ts: int, ups: list[Update]) -> None:
        o = entry.order
        immediate = self.market_fill == "immediate"
        if o.order_type is OrderType.STOP_LIMIT:
            self._park(entry, self._stops, "stop")
            bar = self._entry_bar(o, ts)
            if bar is not None:  # a lone stop protecting the bar's entry
                self._opened.pop(o.side.opposite)
                self._bar_stop(entry, bar, self._budget(bar), ups, set())
            return
        taker_only = o.order_type is OrderType.MARKET or o.time_in_force in (
            TimeInForce.IOC,
            TimeInForce.FOK,
        )
        if taker_only and not immediate:
            self._park(entry, self._deferred, "deferred")
            return
        limit = o.limit_price if o.order_type in (OrderType.LIMIT, OrderType.BRACKET) else None
        if o.time_in_force is TimeInForce.FOK:
            fillable = self._fillable(o.side, limit, implied=immediate)
            if fillable is not None and fillable < o.remaining:
                self._end(entry, OrderStatus.CANCELLED, ts, ups)
                return
        self._take(entry, limit, immediate, ts, ups)
        if o.client_order_id not in self._working:
            return
        if taker_only:
            self._end(entry, OrderStatus.CANCELLED, ts, ups)
        else:
            self._side(o.side).add(entry)
            if o.order_type is OrderType.BRACKET:
                self._brackets.append(entry)
            bar = self._entry_bar(o, ts)
            if bar is not None:
                self._opened.pop(o.side.opposite)
                if o.order_type is OrderType.BRACKET:
                    self._bar_bracket(entry, bar, ups)
                else:  # a lone take-profit protecting the bar's entry
                    self._bar_resting(entry, bar, self._budget(bar), ups)

    def _entry_bar(self, order: OrderRequest | Order, ts: int) -> Candle | None:
        """The bar just replayed, when ``order`` is a bracket (or a lone stop-limit or GTC
        limit exit leg, tagged ``exit:``) protecting a market fill made at its open (see
        the module docstring), else None."""
        bar = self._bar
        leg = order.order_type is OrderType.BRACKET or (
            order.order_type in (OrderType.STOP_LIMIT, OrderType.LIMIT)
            and order.time_in_force is TimeInForce.GTC
            and order.tag.startswith("exit:")
        )
        if bar is None or not leg or not bar.ts <= ts <= bar.close_ts:
            return None
        return bar if order.size <= self._opened.get(order.side.opposite, ZERO) else None

    def _bar_bracket(self, entry: Entry, bar: Candle, ups: list[Update]) -> None:
        """The rest of ``bar`` for a bracket placed at its open: the stop, then the target."""
        budget = self._budget(bar)
        triggered: set[str] = set()
        self._bar_bracket_stop(entry, bar, budget, ups, triggered)
        if not triggered:
            self._bar_resting(entry, bar, budget, ups)

    # ------------------------------------------------------------------ taking liquidity

    def _side(self, side: Side) -> BookSide:
        return self._bids if side is Side.BUY else self._asks

    def _slip(self, price: Decimal, side: Side) -> Decimal:
        """``price`` made worse for a taker on ``side`` by ``slippage_bps``, on the tick grid."""
        if not self.slippage_bps:
            return price
        frac = self.slippage_bps / BPS
        if side is Side.BUY:
            return self.product.quantize_price(price * (ONE + frac), conservative_for="SELL")
        slipped = self.product.quantize_price(price * (ONE - frac), conservative_for="BUY")
        return slipped if slipped > 0 else self.product.price_increment

    @staticmethod
    def _clamp(price: Decimal, limit: Decimal | None, side: Side) -> Decimal:
        if limit is None:
            return price
        return min(price, limit) if side is Side.BUY else max(price, limit)

    def _implied(self, taker: Side) -> Decimal | None:
        ref = self._ref_ask if taker is Side.BUY else self._ref_bid
        return None if ref is None else self._slip(ref, taker)

    def _liquidity(self, taker: Side, implied: bool) -> Iterator[_Level]:
        """What a taker on ``taker`` side can trade against, best price first.

        Lazy: the book's resting entries are already in price-time order, so they are
        merged with the (few) synthetic levels as the taker walks them, and a taker that
        stops at the first level costs O(1), not a sort of the whole book.
        """
        opp = self._asks if taker is Side.BUY else self._bids
        has_levels = opp.has_levels
        if not has_levels and not opp.has_entries:
            # A market order on a bar or a ticker: the implied level alone (the usual case).
            price = self._implied(taker) if implied else None
            return iter(()) if price is None else iter((_Level(price, None, None, 0, 0),))
        levels = [_Level(p, s, None, 0, 0) for p, s in opp.levels()] if has_levels else []
        if implied and not has_levels:
            price = self._implied(taker)
            if price is not None:
                levels.append(_Level(price, None, None, 0, 0))
        sign = -1 if opp.side is Side.BUY else 1

        def key(lv: _Level) -> tuple[Decimal, int, int]:
            return (lv.price * sign, lv.rank, lv.seq)

        levels.sort(key=key)
        if not opp.has_entries:
            return iter(levels)  # the synthetic levels alone, without a merge
        resting = (_Level(e.limit, e.order.remaining, e, 1, e.seq) for e in opp.entries)
        return heapq.merge(levels, resting, key=key)

    def _fillable(self, taker: Side, limit: Decimal | None, implied: bool) -> Decimal | None:
        """Size available to a taker within ``limit``; None when unlimited."""
        opp = self._side(taker.opposite)
        total = ZERO
        for lv in self._liquidity(taker, implied):
            if not opp.reachable(lv.price, limit):
                break
            if lv.size is None:
                return None
            total += self.product.quantize_size(lv.size)
        return total

    def _take(
        self, entry: Entry, limit: Decimal | None, implied: bool, ts: int, ups: list[Update]
    ) -> None:
        o = entry.order
        opp = self._side(o.side.opposite)
        for lv in self._liquidity(o.side, implied):
            remaining = o.remaining
            if remaining <= 0 or not opp.reachable(lv.price, limit):
                break
            qty = self.product.quantize_size(
                remaining if lv.size is None else min(remaining, lv.size)
            )
            if qty <= 0:
                if lv.entry is None and lv.size is not None:
                    opp.drop_level(lv.price)  # dust below the base increment
                continue
            if lv.entry is None and lv.size is not None:
                opp.consume(lv.price, qty)
            ups.append(self._fill(entry, lv.price, qty, Liquidity.TAKER, ts))
            if lv.entry is not None:
                ups.append(self._fill(lv.entry, lv.price, qty, Liquidity.MAKER, ts))

    def _would_cross(self, side: Side, limit: Decimal) -> bool:
        opp = self._side(side.opposite)
        best = opp.best()
        ref = self._ref_ask if side is Side.BUY else self._ref_bid
        if not opp.has_levels and ref is not None:
            best = ref if best is None or opp.better(ref, best) else best
        return best is not None and opp.reachable(best, limit)

    def estimate_price(self, side: Side, size: Decimal) -> Decimal | None:
        """The average price a MARKET order of ``size`` would get now (None: no price known).

        In ``next_open`` mode this is the last ask/bid with slippage: the real price is only
        known at the next bar's open.
        """
        if self.market_fill == "next_open":
            ref = self._ref_ask if side is Side.BUY else self._ref_bid
            return None if ref is None else self._slip(ref, side)
        opp = self._asks if side is Side.BUY else self._bids
        if size > 0 and not opp.has_levels and not opp.has_entries:
            return self._implied(side)  # the implied touch alone, as the walk below gives it
        left, value, got = size, ZERO, ZERO
        for lv in self._liquidity(side, implied=True):
            qty = left if lv.size is None else min(left, lv.size)
            value += qty * lv.price
            got += qty
            left -= qty
            if left <= 0:
                break
        return value / got if got > 0 else None

    def market_cost(self, size: Decimal, flow: Decimal = ZERO) -> Decimal | None:
        """What a MARKET BUY of ``size`` placed now would cost, as the exchange settles it:
        its value (settled on top of ``flow``, the currency's exact running total of traded
        value, see :func:`~gpt_trader.sim.ledger.settled_move`) plus each fill's fee rounded
        up. None when that is not known now (no price yet; ``next_open`` mode fills at a
        later open)."""
        if self.market_fill == "next_open":
            return None
        cs = self.product.contract_size
        left = size
        exact = fees = ZERO
        for lv in self._liquidity(Side.BUY, implied=True):
            qty = self.product.quantize_size(left if lv.size is None else min(left, lv.size))
            if qty <= 0:
                continue  # dust below the base increment, passed by the order too
            notional = lv.price * qty * cs
            exact += notional
            fees += fee_amount(notional, self.taker_fee, self._cash_increment)
            left -= qty
            if left <= 0:
                break
        if exact == 0:
            return None
        return -settled_move(flow, -exact, self.product.quote) + fees

    def size_for_quote(self, side: Side, quote: Decimal, flow: Decimal = ZERO) -> Decimal:
        """The base size a MARKET order spending ``quote`` gets now (0: not even one increment).

        A BUY's value plus fees is at most ``quote`` (the fee comes out of the quote, as
        a venue spends a quote-sized market buy); a SELL's value before fees is at most
        ``quote`` (the fee comes out of the proceeds). Walks the liquidity a market order
        takes, fill by fill, with the venue's rounding (each fee up, the value settled on
        top of ``flow`` as in :meth:`market_cost`), so an order of the returned size, placed
        at once, stays within ``quote``.
        """
        inc = self.product.base_increment
        cs = self.product.contract_size
        sign = -1 if side is Side.BUY else 1
        rate = self.taker_fee if side is Side.BUY else ZERO
        exact = fees = got = ZERO  # the levels taken so far: value before rounding, fees

        def cost(price: Decimal, qty: Decimal) -> Decimal:
            notional = price * qty * cs
            value = sign * settled_move(flow, sign * (exact + notional), self.product.quote)
            return value + fees + fee_amount(notional, rate, self._cash_increment)

        for lv in self._liquidity(side, implied=True):
            cap = None if lv.size is None else self.product.quantize_size(lv.size)
            if cap == 0:
                continue  # dust below the base increment: the order passes it too
            spent = cost(lv.price, ZERO)
            qty = self.product.quantize_size((quote - spent) / (lv.price * cs * (ONE + rate)))
            if cap is not None:
                qty = min(qty, cap)
            # the estimate above ignores rounding: settle it by whole increments
            while qty > 0 and cost(lv.price, qty) > quote:
                qty -= inc
            while (cap is None or qty < cap) and cost(lv.price, qty + inc) <= quote:
                qty += inc
            if qty <= 0:
                break
            got += qty
            exact += lv.price * qty * cs
            fees += fee_amount(lv.price * qty * cs, rate, self._cash_increment)
            if cap is None or qty < cap:
                break
        return got

    # ------------------------------------------------------------------ fills and endings

    def _fill(
        self,
        entry: Entry,
        price: Decimal,
        size: Decimal,
        liquidity: Liquidity,
        ts: int,
        rate: Decimal | None = None,
    ) -> Update:
        o = entry.order
        if rate is None:
            rate = self.maker_fee if liquidity is Liquidity.MAKER else self.taker_fee
        # fees are on the money traded: size * contract_size (1 for spot) * price
        fee = fee_amount(price * size * self.product.contract_size, rate, self._cash_increment)
        self._trades += 1
        trade_id = f"{self._prefix}-{self.product.symbol}-{self._trades}"
        entry.filled_value += price * size
        o.filled_size += size
        o.avg_fill_price = entry.filled_value / o.filled_size
        o.fees += fee
        o.trade_ids += (trade_id,)
        o.updated_ts = ts
        if o.remaining <= 0:
            o.status = OrderStatus.FILLED
            self._retire(entry)
        else:
            o.status = OrderStatus.PARTIALLY_FILLED
        fill = Fill(
            trade_id=trade_id,
            client_order_id=o.client_order_id,
            order_id=o.order_id,
            symbol=o.symbol,
            side=o.side,
            price=price,
            size=size,
            fee=fee,
            liquidity=liquidity,
            ts=ts,
        )
        return Update(o.copy(), fill)

    def _park(self, entry: Entry, where: list[Entry], name: str) -> None:
        where.append(entry)
        entry.where = name

    def _unpark(self, entry: Entry) -> None:
        if entry.where == "book":
            self._side(entry.order.side).remove(entry)
        elif entry.where == "stop":
            self._stops.remove(entry)
        elif entry.where == "deferred":
            self._deferred.remove(entry)
        entry.where = ""

    def _retire(self, entry: Entry) -> None:
        self._unpark(entry)
        if entry.order.order_type is OrderType.BRACKET and entry in self._brackets:
            self._brackets.remove(entry)
        self._working.pop(entry.order.client_order_id, None)

    def _end(self, entry: Entry, status: OrderStatus, ts: int, ups: list[Update]) -> None:
        self._retire(entry)
        entry.order.status = status
        entry.order.updated_ts = ts
        ups.append(Update(entry.order.copy()))

    # ------------------------------------------------------------------ cancel / edit / expire

    def cancel_error(self, client_order_id: str) -> str | None:
        """Why the order cannot be cancelled (a :class:`Reason`), or None."""
        entry = self._orders.get(client_order_id)
        if entry is None:
            return RejectReason.UNKNOWN_ORDER
        status = entry.order.status
        if status is OrderStatus.FILLED:
            return RejectReason.ALREADY_FILLED
        if status is OrderStatus.CANCELLED:
            return RejectReason.DUPLICATE_CANCEL
        if status.is_terminal:
            return RejectReason.NOT_CANCELLABLE
        return None

    def cancel(self, client_order_id: str, ts: int) -> list[Update]:
        """Cancel a working order; raises :class:`SimRejected` when it cannot be cancelled."""
        reason = self.cancel_error(client_order_id)
        if reason is not None:
            raise SimRejected(reason, client_order_id)
        ups: list[Update] = []
        self._end(self._orders[client_order_id], OrderStatus.CANCELLED, ts, ups)
        return ups

    def edit_error(
        self, client_order_id: str, size: Decimal | None = None, price: Decimal | None = None
    ) -> str | None:
        """Why the edit is refused (a :class:`Reason`), or None.

        Only working LIMIT GTC orders can be edited; ``size`` is the new total size.
        """
        entry = self._orders.get(client_order_id)
        if entry is None:
            return RejectReason.UNKNOWN_ORDER
        o = entry.order
        if o.order_type is not OrderType.LIMIT or o.time_in_force is not TimeInForce.GTC:
            return RejectReason.EDIT_NOT_LIMIT
        if o.status.is_terminal:
            return RejectReason.EDIT_NOT_OPEN
        new_size = o.size if size is None else size
        new_price = o.limit_price if price is None else price
        if new_size == o.size and new_price == o.limit_price:
            return RejectReason.EDIT_UNCHANGED
        if size_reason(self.product, new_size) is not None:
            return RejectReason.INVALID_EDITED_SIZE
        if new_size <= o.filled_size:
            return RejectReason.EDIT_BELOW_FILLED
        if new_price is None or price_reason(self.product, new_price, "x") is not None:
            return RejectReason.INVALID_EDITED_PRICE
        if o.post_only and new_price != o.limit_price and self._would_cross(o.side, new_price):
            return RejectReason.POST_ONLY_WOULD_CROSS
        return None

    def edit(
        self,
        client_order_id: str,
        ts: int,
        *,
        size: Decimal | None = None,
        price: Decimal | None = None,
    ) -> list[Update]:
        """Change a resting LIMIT GTC order's total size and/or price.

        A price change or a size increase loses time priority (and may now match); a size
        decrease keeps it. Raises :class:`SimRejected` with the reason from :meth:`edit_error`.
        """
        reason = self.edit_error(client_order_id, size, price)
        if reason is not None:
            raise SimRejected(reason, client_order_id)
        entry = self._orders[client_order_id]
        o = entry.order
        new_size = o.size if size is None else size
        new_price = o.limit_price if price is None else price
        loses_priority = new_price != o.limit_price or new_size > o.size
        ups: list[Update] = []
        if loses_priority:
            self._unpark(entry)
        o.size, o.limit_price, o.updated_ts = new_size, new_price, ts
        ups.append(Update(o.copy()))
        if loses_priority:
            self._seq += 1
            entry.seq = self._seq
            self._take(entry, new_price, self.market_fill == "immediate", ts, ups)
            if client_order_id in self._working:
                self._side(o.side).add(entry)
        return ups

    def shrink(self, client_order_id: str, remaining: Decimal, ts: int) -> list[Update]:
        """Cut a working order's unfilled part to ``remaining`` (> 0, below what is left),
        keeping its place in the queue: the venue resizing a reduce-only order to the
        position it may still close, which no edit rule limits."""
        entry = self._working[client_order_id]
        o = entry.order
        if not 0 < remaining < o.remaining:
            raise ValueError(f"cannot shrink {client_order_id} to {remaining}")
        o.size, o.updated_ts = o.filled_size + remaining, ts
        return [Update(o.copy())]

    def expire(self, ts: int) -> list[Update]:
        """Expire GTD orders whose ``end_ts`` is at or before ``ts``."""
        ups: list[Update] = []
        self._expire(ts, ups)
        return ups

    def _expire(self, ts: int, ups: list[Update]) -> None:
        for entry in list(self._working.values()):
            o = entry.order
            if o.time_in_force is TimeInForce.GTD and o.end_ts is not None and o.end_ts <= ts:
                self._end(entry, OrderStatus.EXPIRED, ts, ups)

    # ------------------------------------------------------------------ market data

    def _mark(self, bid: Decimal, ask: Decimal, last: Decimal, ts: int) -> None:
        self._ref_bid, self._ref_ask, self.last_price = bid, ask, last
        self.last_ts = max(self.last_ts, ts)

    def on_bar(self, bar: Candle) -> list[Update]:
        """Fill, trigger and expire orders against one OHLCV bar (the bar fill model)."""
        ups: list[Update] = []
        self._bar, self._opened = bar, {}
        if self._working:
            self._expire(bar.ts, ups)
            budget = self._budget(bar)
            for entry in list(self._deferred):
                if entry.order.created_ts <= bar.ts:
                    self._fill_at_open(entry, bar, budget, ups)
            triggered: set[str] = set()
            for entry in list(self._stops):
                if entry.order.created_ts <= bar.ts:
                    self._bar_stop(entry, bar, budget, ups, triggered)
            for entry in list(self._brackets):
                if entry.order.created_ts <= bar.ts:
                    self._bar_bracket_stop(entry, bar, budget, ups, triggered)
            for side in (self._bids, self._asks):
                for entry in side.entries:
                    if (
                        entry.where == "book"
                        and entry.order.client_order_id not in triggered
                        and entry.order.created_ts <= bar.ts
                    ):
                        self._bar_resting(entry, bar, budget, ups)
            self._expire(bar.close_ts, ups)
        self._mark(bar.close, bar.close, bar.close, bar.close_ts)
        return ups

    def _budget(self, bar: Candle) -> Budget:
        if self.volume_participation is None:
            return {Side.BUY: None, Side.SELL: None}
        cap = self.product.quantize_size(bar.volume * self.volume_participation)
        return {Side.BUY: cap, Side.SELL: cap}

    def _allot(self, budget: Budget, side: Side, want: Decimal) -> Decimal:
        cap = budget[side]
        qty = want if cap is None else self.product.quantize_size(min(want, cap))
        if cap is not None:
            budget[side] = cap - qty
        return qty

    def _fill_at_open(self, entry: Entry, bar: Candle, budget: Budget, ups: list[Update]) -> None:
        o = entry.order
        self._unpark(entry)
        price = self._slip(bar.open, o.side)
        if o.order_type is OrderType.MARKET:
            self._opened[o.side] = self._opened.get(o.side, ZERO) + o.remaining
            ups.append(self._fill(entry, price, o.remaining, Liquidity.TAKER, bar.ts))
            return
        limit = o.limit_price
        if not self._side(o.side.opposite).reachable(bar.open, limit):
            self._end(entry, OrderStatus.CANCELLED, bar.ts, ups)
            return
        price = self._clamp(price, limit, o.side)
        cap = budget[o.side]
        if o.time_in_force is TimeInForce.FOK and cap is not None and cap < o.remaining:
            self._end(entry, OrderStatus.CANCELLED, bar.ts, ups)
            return
        qty = self._allot(budget, o.side, o.remaining)
        if qty > 0:
            ups.append(self._fill(entry, price, qty, Liquidity.TAKER, bar.ts))
        if o.client_order_id in self._working:
            self._end(entry, OrderStatus.CANCELLED, bar.ts, ups)

    def _bar_stop(
        self, entry: Entry, bar: Candle, budget: Budget, ups: list[Update], triggered: set[str]
    ) -> None:
        o = entry.order
        stop = o.stop_price
        if stop is None:  # pragma: no cover - validated on submit
            return
        if o.side is Side.BUY:
            if bar.high < stop:
                return
            at = max(bar.open, stop)
        else:
            if bar.low > stop:
                return
            at = min(bar.open, stop)
        self._unpark(entry)
        triggered.add(o.client_order_id)
        if self._side(o.side.opposite).reachable(at, o.limit_price):
            qty = self._allot(budget, o.side, o.remaining)
            if qty > 0:
                price = self._clamp(self._slip(at, o.side), o.limit_price, o.side)
                ts = bar.ts if at == bar.open else bar.close_ts
                ups.append(self._fill(entry, price, qty, Liquidity.TAKER, ts))
        if o.client_order_id in self._working:
            self._side(o.side).add(entry)

    def _bar_bracket_stop(
        self, entry: Entry, bar: Candle, budget: Budget, ups: list[Update], triggered: set[str]
    ) -> None:
        o = entry.order
        stop = o.stop_price
        if stop is None:  # pragma: no cover - validated on submit
            return
        if o.side is Side.SELL:
            if bar.low > stop:
                return
            at = min(bar.open, stop)
        else:
            if bar.high < stop:
                return
            at = max(bar.open, stop)
        triggered.add(o.client_order_id)
        self._brackets.remove(entry)
        self._unpark(entry)
        qty = self._allot(budget, o.side, o.remaining)
        if qty > 0:
            ts = bar.ts if at == bar.open else bar.close_ts
            ups.append(self._fill(entry, self._slip(at, o.side), qty, Liquidity.TAKER, ts))
        if o.client_order_id in self._working:
            self._end(entry, OrderStatus.CANCELLED, bar.close_ts, ups)

    def _trigger_brackets(self, price: Decimal, ts: int, ups: list[Update]) -> None:
        for entry in list(self._brackets):
            o = entry.order
            stop = o.stop_price
            if stop is None or o.created_ts > ts:
                continue
            if (o.side is Side.SELL and price <= stop) or (o.side is Side.BUY and price >= stop):
                self._brackets.remove(entry)
                self._unpark(entry)
                self._take(entry, None, True, ts, ups)
                if o.client_order_id in self._working:
                    self._end(entry, OrderStatus.CANCELLED, ts, ups)

    def _bar_resting(self, entry: Entry, bar: Candle, budget: Budget, ups: list[Update]) -> None:
        o = entry.order
        limit = entry.limit
        book = self._side(o.side)
        if book.better(limit, bar.open) and not o.post_only:  # the bar opened through it
            price = self._clamp(self._slip(bar.open, o.side), limit, o.side)
            liquidity, ts = Liquidity.TAKER, bar.ts
        elif self._reaches(book, limit, bar.low if o.side is Side.BUY else bar.high):
            price, liquidity, ts = limit, Liquidity.MAKER, bar.close_ts
        else:
            return
        qty = self._allot(budget, o.side, o.remaining)
        if qty > 0:
            ups.append(self._fill(entry, price, qty, liquidity, ts))

    def _reaches(self, book: BookSide, limit: Decimal, price: Decimal) -> bool:
        """Does a market print at ``price`` fill a resting ``limit`` on ``book``'s side?"""
        return book.better(limit, price) or (self.fill_on_touch and limit == price)

    def on_trade(self, trade: Trade) -> list[Update]:
        """Fill resting orders against a print, then check stops against its price."""
        ups: list[Update] = []
        if self._working:
            self._expire(trade.ts, ups)
            taker = trade.side.upper()
            if taker == Side.BUY.value:
                books = [self._asks]
            elif taker == Side.SELL.value:
                books = [self._bids]
            else:
                books = [self._bids, self._asks]
            left = trade.size
            for book in books:
                for entry in book.entries:
                    if left <= 0 or not self._reaches(book, entry.limit, trade.price):
                        break
                    if entry.order.created_ts > trade.ts:
                        continue
                    qty = self.product.quantize_size(min(entry.order.remaining, left))
                    if qty <= 0:
                        break
                    left -= qty
                    ups.append(self._fill(entry, entry.limit, qty, Liquidity.MAKER, trade.ts))
        self._mark(trade.price, trade.price, trade.price, trade.ts)
        self._trigger_stops(trade.price, trade.ts, ups)
        return ups

    def on_ticker(self, ticker: Ticker) -> list[Update]:
        """Keep best bid/ask/last; expire GTD orders and trigger stops at the ticker price."""
        ups: list[Update] = []
        if self._working:
            self._expire(ticker.ts, ups)
        bid = ticker.bid if ticker.bid > 0 else ticker.price
        ask = ticker.ask if ticker.ask > 0 else ticker.price
        self._mark(bid, ask, ticker.price, ticker.ts)
        self._trigger_stops(ticker.price, ticker.ts, ups)
        return ups

    def apply_book(self, update: BookUpdate) -> list[Update]:
        """Replace (snapshot) or change synthetic liquidity levels; expire GTD orders."""
        self._bids.apply_levels(update.bids, update.snapshot)
        self._asks.apply_levels(update.asks, update.snapshot)
        best_bid, best_ask = self._bids.best_level(), self._asks.best_level()
        if best_bid is not None:
            self._ref_bid = best_bid
        if best_ask is not None:
            self._ref_ask = best_ask
        self.last_ts = max(self.last_ts, update.ts)
        return self.expire(update.ts) if self._working else []

    def _trigger_stops(self, price: Decimal, ts: int, ups: list[Update]) -> None:
        self._trigger_brackets(price, ts, ups)
        for entry in list(self._stops):
            o = entry.order
            stop = o.stop_price
            if stop is None or o.created_ts > ts:
                continue
            if (o.side is Side.BUY and price >= stop) or (o.side is Side.SELL and price <= stop):
                self._unpark(entry)
                self._take(entry, o.limit_price, self.market_fill == "immediate", ts, ups)
                if o.client_order_id in self._working:
                    self._side(o.side).add(entry)

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        """Everything needed to rebuild this engine except its synthetic book levels.

        ``orders`` lists every order in arrival order as its plain JSON form plus a
        ``"book"`` object with the engine's own bookkeeping (sequence, filled value, where
        a working order waits).
        """
        return {
            "seq": self._seq,
            "trades": self._trades,
            "last_price": None if self.last_price is None else str(self.last_price),
            "ref_bid": None if self._ref_bid is None else str(self._ref_bid),
            "ref_ask": None if self._ref_ask is None else str(self._ref_ask),
            "last_ts": self.last_ts,
            "orders": [
                {
                    **order_to_json(e.order),
                    "book": {"seq": e.seq, "filled_value": str(e.filled_value), "where": e.where},
                }
                for e in self._orders.values()
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace this engine's orders and counters with ``state`` (from :meth:`to_state`)."""
        self._bids, self._asks = BookSide(Side.BUY), BookSide(Side.SELL)
        self._orders, self._working = {}, {}
        self._stops, self._deferred, self._brackets = [], [], []
        self._seq = int(state["seq"])
        self._trades = int(state["trades"])
        self.last_price = undec(state.get("last_price"))
        self._ref_bid = undec(state.get("ref_bid"))
        self._ref_ask = undec(state.get("ref_ask"))
        self.last_ts = int(state.get("last_ts", 0))
        for item in state["orders"]:
            order = order_from_json(item)
            book = item["book"]
            entry = Entry(order, int(book["seq"]), need_dec(book["filled_value"]))
            self._orders[order.client_order_id] = entry
            if order.status.is_terminal:
                continue
            self._working[order.client_order_id] = entry
            where = book.get("where", "")
            if where == "stop":
                self._park(entry, self._stops, "stop")
            elif where == "deferred":
                self._park(entry, self._deferred, "deferred")
            else:
                self._side(order.side).add(entry)
                if order.order_type is OrderType.BRACKET:
                    self._brackets.append(entry)
