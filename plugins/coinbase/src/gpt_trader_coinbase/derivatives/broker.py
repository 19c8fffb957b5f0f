"""What ``coinbase.cfm`` and ``coinbase.intx`` share on top of the spot adapter.

Orders, fills, the user channel, resyncs, the ambiguous-submit lookup and the reports for
the kernel's reconcile are the spot broker's
(:class:`~gpt_trader_coinbase.spot.broker.CoinbaseSpotBroker`);
a derivative venue changes four things:

* products are the venue's FUTURE listings, with contract size and margin terms;
* an order body carries ``leverage`` and ``margin_type`` and, inside its configuration,
  ``reduce_only``;
* positions and balances come from the venue's own endpoints (CFM balance summary and
  positions; INTX portfolio, positions and balances);
* a risk loop reads the positions every ``risk_interval_s`` (and just after each funding
  time) and hands the venue's liquidation price, leverage and margin to the kernel
  (``on_venue_position``); venues with funding also report funding payments from it.

Liquidations and expiry settlements are orders the venue places: they reach the kernel as
ordinary orders and fills through the user channel and the reconcile (a liquidation order
is tagged ``venue:liquidation``), so the store keeps them like any other fill.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from gpt_trader.domain import (
    Fill,
    FundingPayment,
    Order,
    OrderRequest,
    Position,
    Product,
    RejectReason,
    Side,
    money,
)
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import BrokerListener

from gpt_trader_coinbase.convert import Unsupported, WireError, tradable
from gpt_trader_coinbase.derivatives.convert import (
    derivative_configuration,
    derivative_product_from_json,
    funding_due,
    order_extras,
    venue_of,
)
from gpt_trader_coinbase.rest import RestError
from gpt_trader_coinbase.spot.broker import CoinbaseSpotBroker
from gpt_trader_coinbase.spot.config import BrokerConfig
from gpt_trader_coinbase.spot.tracker import Tracked

log = logging.getLogger("gpt_trader_coinbase.derivatives")
ZERO = Decimal(0)
NS = 1_000_000_000
# How far the mark may have moved between the last read and a funding time, as a share:
# a pool move further than that from the funding's estimate is not that funding.
MARK_DRIFT = Decimal("0.05")


@dataclass
class DerivativesConfig(BrokerConfig):
    risk_interval_s: float = 2.0
    # how long after a funding time the positions are read for its payment
    funding_poll_delay_s: float = 0.5


class DerivativesBroker(CoinbaseSpotBroker):
    """The spot adapter with a derivative venue's products, order keys, positions and risk
    loop. Subclasses say which venue (``VENUE``) and read its positions and balances."""

    VENUE = ""
    # CFM refuses ``reduce_only`` (REDUCE_ONLY_NOT_ALLOWED_ON_VENUE): there the broker checks
    # it against the kernel's position instead of sending it.
    VENUE_REDUCE_ONLY = True
    config: DerivativesConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._raw_products: dict[str, dict[str, Any]] = {}
        self._listed: dict[str, Product] = {}  # every listing of the venue, tradable or not
        self.risk_reads = 0
        self.funding_reported = 0
        # symbol -> the funding time up to which its funding is booked (set at the first
        # read of the symbol's position in this run)
        self.funded_through: dict[str, int] = {}
        # symbol -> (venue time, signed size, price) of each fill handed over since its
        # funding was last booked: the position held at a funding time is the kernel's now
        # less the fills after it.
        self._moves: dict[str, list[tuple[int, Decimal, Decimal]]] = {}
        # symbol -> its position at the last read that showed it open
        self.last_held: dict[str, Position] = {}
        # The margin pool's cash at the last read, whether it stood still across that
        # read's position read, and its gap to the kernel's cash at the last quiet read.
        self._pool: Decimal | None = None
        self._pool_still = False
        self._gap: Decimal | None = None

    async def start(self, listener: BrokerListener) -> None:
        await self.check_access()  # again: a restart may come long after the listing
        await super().start(listener)
        self._spawn(self._risk_loop(), f"coinbase-{self.VENUE.lower()}-risk")

    async def check_access(self) -> None:
        """Raise ``UserError`` when the account cannot trade this venue."""

    # ------------------------------------------------------------------ reads

    async def products(self) -> list[Product]:
        """The venue's tradable FUTURE listings; the account's access is checked first (the
        products are the first thing a run asks for)."""
        await self.check_access()
        await self._read_listings()
        return list(self._products.values())

    async def _read_listings(self) -> None:
        listed: dict[str, Product] = {}
        with self._reading("products"):
            for p in await self.rest.products("FUTURE"):
                if venue_of(p) != self.VENUE:
                    continue
                product = derivative_product_from_json(p)
                if product is not None:
                    listed[product.symbol] = product
                    self._raw_products[product.symbol] = p
            self._products = {s: p for s, p in listed.items() if tradable(self._raw_products[s])}
        self._listed = listed

    async def listing(self, symbol: str) -> Product:
        """The venue's terms of ``symbol`` (contract size, margin rates), tradable or not.
        Read when unknown: a command may ask for positions before products, and a position
        may be on a product listed since. A position's figures are never guessed: a product
        the venue does not list is an error, not a contract of 1."""
        product = self._listed.get(symbol)
        if product is None:
            await self._read_listings()
            product = self._listed.get(symbol)
        if product is None:
            raise WireError(
                f"{self.VENUE}: a position on {symbol}, which the venue does not list "
                "(its contract size is unknown)"
            )
        return product

    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        if request.reduce_only and not self.VENUE_REDUCE_ONLY:
            self._check_reduces(request)
            request = replace(request, reduce_only=False)
        return {
            "client_order_id": request.client_order_id,
            "product_id": request.symbol,
            "side": request.side.value,
            "order_configuration": derivative_configuration(request),
            **order_extras(request),
        }

    def _check_reduces(self, request: OrderRequest) -> None:
        """Refuse a reduce-only order that would add to (or flip) the kernel's position."""
        positions = getattr(self._listener, "positions", None)
        pos = positions.get(request.symbol) if isinstance(positions, Mapping) else None
        size = pos.size if pos is not None else ZERO
        closing = (size > 0 and request.side is Side.SELL) or (
            size < 0 and request.side is Side.BUY
        )
        if not closing or request.size > abs(size):
            raise Unsupported(
                f"reduce-only {request.side.value} {request.size} would not reduce the "
                f"{request.symbol} position of {size}",
                RejectReason.REDUCE_ONLY_INCREASES,
            )

    async def venue_positions(self) -> list[Position]:
        """Open positions with the venue's risk figures (liquidation price, leverage...)."""
        raise NotImplementedError

    async def positions(self) -> list[Position]:
        held = {p.symbol: p for p in await self.venue_positions()}
        out = []
        for symbol in self.config.universe:
            pos = held.pop(symbol, None)
            if pos is None:
                pos = Position(symbol, contract_size=(await self.listing(symbol)).contract_size)
            out.append(pos)
        return out + list(held.values())

    # ------------------------------------------------------------------ the risk loop

    async def _risk_loop(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self._next_risk_delay())
            try:
                await self.read_risk()
            except (RestError, BrokerError, ValueError) as exc:
                log.warning("%s positions not read: %s", self.VENUE, exc)

    def _next_risk_delay(self) -> float:
        """The regular interval, or sooner when a funding time of the universe is due."""
        delay = self.config.risk_interval_s
        now = self._clock()
        for symbol in self.config.universe:
            raw = self._raw_products.get(symbol)
            if raw is None:
                continue
            _rate, when = funding_due(raw)
            if when is not None and when > now:
                delay = min(delay, (when - now) / NS + self.config.funding_poll_delay_s)
        return max(delay, 0.05)

    async def read_risk(self) -> list[Position]:
        """Read the venue's positions once, hand their risk figures to the kernel, and book
        the funding they show (:meth:`take_funding`)."""
        self.risk_reads += 1
        if self._listing_stale():
            try:
                with self._reading("products"):
                    await self.refresh_products()
            except (RestError, WireError) as exc:
                log.info("%s: listings not refreshed: %s", self.VENUE, exc)
        positions = await self.venue_positions()
        for pos in positions:
            self.last_held[pos.symbol] = pos
        listener = self._listener
        if listener is not None:
            for pos in positions:
                if self._in_scope(pos.symbol):
                    listener.on_venue_position(pos)
            self.take_funding(positions)
        return positions

    def take_funding(self, positions: list[Position]) -> None:
        """Book the funding payments this read shows (venues with funding)."""

    # ------------------------------------------------------------------ the pool's cash

    async def pool_cash(self) -> Decimal:
        """The cash of the venue's margin pool, in the universe's quote currency."""
        raise NotImplementedError

    def only_resting(self) -> bool:
        """Orders rest on the universe and nothing else is in flight: one may fill between
        a position read and a pool read (two replies)."""
        universe = self.config.universe
        return any(self.in_flight(s) for s in universe) and not any(
            self.in_flight(s, resting=False) for s in universe
        )

    def pool_seen(self, cash: Decimal | None, before: Decimal | None) -> None:
        """The pool's cash read after the positions (None: that read failed); ``before``, a
        read made before them (when :meth:`only_resting`), shows whether it stood still."""
        self._pool = cash
        self._pool_still = cash is not None and cash == before

    def quiet(self, positions: list[Position]) -> bool:
        """Nothing moved the pool beyond what the kernel has booked: no order in flight, the
        pool still across the read if orders rest, the kernel's sizes the venue's."""
        universe = self.config.universe
        if self._pool is None or any(self.in_flight(s, resting=False) for s in universe):
            return False
        if not self._pool_still and any(self.in_flight(s) for s in universe):
            return False
        mine = getattr(self._listener, "positions", None)
        if not isinstance(mine, Mapping):
            return False
        venue = {p.symbol: p.size for p in positions}
        for symbol in {*venue, *universe}:
            held = mine.get(symbol)
            if (held.size if held is not None else ZERO) != venue.get(symbol, ZERO):
                return False  # a fill the kernel has not had yet
        return True

    def pool_move(self, *, reset: bool) -> Decimal | None:
        """How far the pool moved beyond the kernel's cash since the last quiet read (call
        at quiet reads only); None on the first, or when ``reset`` (money moved in or out
        the kernel does not book, such as a sweep). The pool is in cents, the kernel's cash
        exact: the move carries up to a cent of rounding besides any funding."""
        cash = getattr(self._listener, "cash", None)
        if not isinstance(cash, Decimal) or self._pool is None:
            return None
        gap = self._pool - cash
        previous, self._gap = self._gap, gap
        return None if previous is None or reset else gap - previous

    def pool_due(self, symbols: set[str], *, baseline: bool) -> list[tuple[Position, int]]:
        """Of ``symbols``, those whose funding time passed unbooked and that were held at
        it, each as held then (size, contract, mark) with that time. Those flat at it are
        booked through it; on a baseline read, every one is."""
        due: list[tuple[Position, int]] = []
        for symbol in sorted(symbols):
            through = self.last_funding_ts(symbol)
            if symbol not in self.funded_through:
                if baseline and through is not None:
                    self.funded_through_now(symbol, through)
                continue
            if through is None or through <= self.funded_through[symbol]:
                continue
            held = None if baseline else self.held_at(symbol, through)
            if held is None or held.size == 0:
                self.funded_through_now(symbol, through)
            else:
                due.append((held, through))
        return due

    def held_at(self, symbol: str, ts: int) -> Position | None:
        """``symbol``'s position at the venue time ``ts``: the kernel's now less the fills
        since (None without a kernel), with the contract and the last mark read."""
        positions = getattr(self._listener, "positions", None)
        if not isinstance(positions, Mapping):
            return None
        mine = positions.get(symbol)
        size = mine.size if mine is not None else ZERO
        moves = self._moves.get(symbol, [])
        size -= sum((signed for t, signed, _px in moves if t >= ts), ZERO)
        last = self.last_held.get(symbol)
        before = [px for t, _signed, px in moves if t < ts]
        mark = last.mark_price if last is not None else (before[-1] if before else ZERO)
        listed = self._listed.get(symbol)
        contract = listed.contract_size if listed is not None else Decimal(1)
        return Position(symbol, size=size, mark_price=mark, contract_size=contract)

    def book_pool_move(self, delta: Decimal, due: list[tuple[Position, int]]) -> None:
        """Book the pool's move ``delta`` as the funding of ``due`` (split by the rate's
        estimate when several paid), as :func:`_paid` reads it. Nothing paid: an open
        position was not charged yet (the next read books it); a move beyond rounding
        is logged."""
        estimates = [self._estimate(pos) for pos, _through in due]
        estimate = sum(estimates, ZERO)
        paid = _paid(delta, estimate) if due else ZERO
        if not paid:
            if abs(delta) > money.CENT:
                log.warning(
                    "%s: the pool moved by %s beyond fills and the funding due (%s)",
                    self.VENUE,
                    money.quantize(delta, money.CENT),
                    money.quantize(estimate, money.CENT),
                )
            return
        for (pos, through), amount in zip(due, _split(paid, estimates), strict=True):
            self.book_funding(pos, through, amount)
        if self._gap is not None:
            self._gap -= paid  # the kernel's cash now includes it

    def _estimate(self, pos: Position) -> Decimal:
        rate, _next = funding_due(self._raw_products.get(pos.symbol) or {})
        return -(pos.size * pos.contract_size * pos.mark_price * rate)

    def _take(self, fill: Fill, tr: Tracked) -> bool:
        new = super()._take(fill, tr)
        if new and self.last_funding_ts(fill.symbol) is not None:
            # Kept until the symbol's next booking (funded_through_now lets them go).
            signed = fill.size if fill.side is Side.BUY else -fill.size
            self._moves.setdefault(fill.symbol, []).append((fill.ts, signed, fill.price))
        return new

    def book_funding(self, pos: Position, through: int, amount: Decimal) -> None:
        """Report ``amount`` as ``pos``'s funding up to the funding time ``through``: one
        payment per symbol and funding time (its id), so the store keeps it once."""
        self.funded_through_now(pos.symbol, through)
        listener = self._listener
        if listener is None:
            return
        product = self._products.get(pos.symbol)
        rate, _next = funding_due(self._raw_products.get(pos.symbol) or {})
        self.funding_reported += 1
        listener.on_funding(
            FundingPayment(
                payment_id=f"{pos.symbol}:{through}",
                symbol=pos.symbol,
                ts=through,
                rate=rate,
                mark_price=pos.mark_price,
                size=pos.size,
                contract_size=pos.contract_size,
                amount=amount,
                currency=product.quote if product is not None else "USD",
            )
        )

    def funded_through_now(self, symbol: str, through: int) -> None:
        """Funding of ``symbol`` is settled up to ``through``: fills before it no longer
        matter to what it held at a funding time."""
        self.funded_through[symbol] = through
        self._moves[symbol] = [m for m in self._moves.get(symbol, []) if m[0] >= through]

    async def submit(self, request: OrderRequest) -> Order:
        """Before an order on a symbol whose funding time has passed unread, read the
        positions: once the order changes the position, that funding can no longer be
        read off it."""
        if self._funding_unread(request.symbol):
            try:
                await self.read_risk()
            except (RestError, ValueError) as exc:
                log.warning("funding of %s not read before the order: %s", request.symbol, exc)
        return await super().submit(request)

    # ------------------------------------------------------------------ funding times

    def _venue_now(self) -> int:
        return max(self._clock(), self.venue_ts)

    def _listing_stale(self) -> bool:
        """A universe product's listed funding time has passed: its rate and next time are
        out of date (they are re-read then, not on every position read)."""
        now = self._venue_now()
        for symbol in self.config.universe:
            _rate, upcoming = funding_due(self._raw_products.get(symbol) or {})
            if upcoming is not None and upcoming <= now:
                return True
        return False

    def last_funding_ts(self, symbol: str) -> int | None:
        """The latest funding time of ``symbol`` that has passed, per its listing and the
        venue's time now (a read that began just before a funding time and ended after it
        may show the payment before the listing is re-read)."""
        raw = self._raw_products.get(symbol)
        product = self._products.get(symbol)
        if raw is None or product is None or product.derivative is None:
            return None
        interval = product.derivative.funding_interval_s
        _rate, upcoming = funding_due(raw)
        if interval is None or upcoming is None:
            return None
        return upcoming if upcoming <= self._venue_now() else upcoming - interval * NS

    def _funding_unread(self, symbol: str) -> bool:
        if symbol not in self.funded_through:
            return False  # no position read yet: nothing booked against it
        _rate, upcoming = funding_due(self._raw_products.get(symbol) or {})
        through = self.last_funding_ts(symbol)
        stale_listing = upcoming is not None and upcoming <= self._venue_now()
        return stale_listing or (through is not None and through > self.funded_through[symbol])

    def in_flight(self, symbol: str, *, resting: bool = True) -> bool:
        """An order on ``symbol`` may still bring fills the kernel has not had.

        ``resting=False`` leaves out orders the venue acknowledged whose every fill so far
        was delivered (a position's bracket rests like this for as long as the position
        lives): a fill of one moves the venue's position before the kernel has it, which a
        read comparing the two sizes sees. Funding is read that way; counting a resting
        bracket as in flight left every protected position's funding unbooked."""
        # An ambiguous submit counts while it may still turn up: once its grace is over
        # and it was not found, it never will (the entry stays, for lookups by id).
        now = time.monotonic()
        for cid, until in self._ambiguous.items():
            req = self._requests.get(cid)
            if until > now and (req is None or req[0].symbol == symbol):
                return True
        return any(
            tr.symbol == symbol and (tr.missing > 0 or not tr.heard or (resting and not tr.settled))
            for tr in self._orders.values()
        )

    async def refresh_products(self) -> None:
        """Re-read the listings (funding rate and time move every interval)."""
        raw = await self.rest.products("FUTURE")
        for p in raw:
            symbol = str(p.get("product_id", ""))
            if symbol in self._raw_products:
                self._raw_products[symbol] = p


def _paid(delta: Decimal, estimate: Decimal) -> Decimal:
    """What the venue paid, in whole cents, given the pool's move ``delta`` (exact to less
    than a cent of rounding) and rate x size x contract x mark (``estimate``, its mark
    read a little before the funding time): the cents both allow, the one nearest the
    estimate; 0 when none fits (not paid yet, or a move that is not this funding)."""
    base = money.quantize(delta, money.CENT)
    band = max(money.CENT, abs(estimate) * MARK_DRIFT)
    fits = [
        c
        for c in (base - money.CENT, base, base + money.CENT)
        if abs(c - delta) < money.CENT and abs(c - estimate) <= band
    ]
    return min(fits, key=lambda c: (abs(c - estimate), abs(c))) if fits else ZERO


def _split(paid: Decimal, estimates: list[Decimal]) -> list[Decimal]:
    """``paid`` in cents over the paying positions, by their share of the estimate."""
    weights = [abs(e) for e in estimates]
    total = sum(weights, ZERO)
    if len(estimates) == 1 or total == 0:
        return [paid] + [ZERO] * (len(estimates) - 1)
    parts = [(paid * w / total).quantize(money.CENT) for w in weights]
    parts[weights.index(max(weights))] += paid - sum(parts, ZERO)
    return parts
