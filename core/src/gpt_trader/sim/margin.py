"""The margin ledger of the simulated exchange's derivative products.

:class:`DerivativesLedger` is what :class:`~gpt_trader.sim.exchange.SimExchange` uses for
every FUTURE / PERPETUAL product. Everything it knows about a product comes from the
product's :class:`~gpt_trader.domain.DerivativeTerms` (``Product.derivative``): the
collateral pool it trades against, margin rates and their schedule, leverage cap, margin
types, funding, expiry. It keeps, per pool, the cash and the holds of working orders, and
per product one position. The maths of one position is :mod:`gpt_trader.sim.margin_rules`,
the records it reports :mod:`gpt_trader.sim.margin_records`, its JSON form
:mod:`gpt_trader.sim.margin_state`.

Positions. ``size`` is signed, in contracts; money per contract is ``price *
contract_size``. Average-cost entry and realised P&L are the domain
:class:`~gpt_trader.domain.Position`'s (so ``Position.funding`` and ``contract_size`` are
filled). A fill credits the pool with its realised P&L and debits its fee.

Cash rounding: every amount that moves a pool's cash is on the quote currency's increment
(cents), so pools stay on cents after any number of fills: fees are rounded up (the
matching engine's, :func:`~gpt_trader.domain.money.fee_amount`), funding payments
half-even, isolated margin taken from the pool up, margin released pro rata half-even,
withdrawals down. Positions keep their exact realised P&L; a fill credits the pool with
what it moved the pool's total realised P&L once rounded half-even, so the pool holds the
exact figure rounded, never drifting from it. Order holds are not cash: exact.

Margin measures (IM, MM, equity, available margin, liquidation prices) are exact Decimals
(:mod:`gpt_trader.sim.margin_rules`). Equity of a pool = cash + unrealised P&L of its
CROSS positions; available margin = equity - IM (cross) - order holds. ``mark`` is the
product's last traded price. The leverage of a position is that of the last order that
opened or added to it, else the product's ``default_leverage``.

Margin types. CROSS (the default) shares the pool's equity. ISOLATED (where the product
offers it) moves the opening part's initial margin from the pool into the position's own
``isolated_margin`` when it fills; closing releases it pro rata; :meth:`allocate` adds to
it. An order whose margin type differs from the open position's is rejected
(``OPPOSITE_MARGIN_TYPE``).

Orders. An accepted order holds, in its pool, the initial margin of the part that would
open or grow a position (``max(0, size - what it can close)`` at the limit price, or the
estimated price of a market order) plus the taker fee on the whole order; the hold is
recomputed after each fill and released when the order ends. Too little available margin
-> rejected ``INSUFFICIENT_MARGIN``; an order that only reduces is never refused for
margin. ``reduce_only`` orders that would open, grow or flip a position are rejected
``REDUCE_ONLY_INCREASES`` (checked at submit, against the position only; resting
reduce-only orders are not resized when the position changes).

Liquidation. When a mark reaches a position's liquidation price the whole position is
closed by a venue order (tag ``LIQUIDATION_TAG``) AT that price, fee = taker rate, reported
as a :class:`LiquidationFill` (``is_liquidation`` True, ``order_type`` "LIQUIDATION")
through the same listener path as every fill; a gap through the price is absorbed by the
venue (insurance fund). When a pool's equity falls below its maintenance margin for
another reason (funding, a margin-window change), its largest cross position is closed at
the mark. Working orders of the liquidated product are cancelled first.

Funding (products with a funding interval). At every multiple of the interval since the
epoch an open position pays ``size * contract_size * mark * rate`` (longs pay a positive
rate, shorts receive), rounded half-even to the quote currency's increment, out of / into
the pool (or the isolated margin). Each payment is a :class:`FundingPayment` with an id,
kept in order and reported to listeners that have ``on_funding``. Rates: the product's,
changeable with :meth:`DerivativesLedger.set_funding_rate`.

Expiry. At ``expiry_ts`` a product stops trading (``PRODUCT_NOT_TRADING``), its working
orders are cancelled and its position is closed by a venue order (tag ``SETTLEMENT_TAG``,
no fee) at the settlement price (set with :meth:`DerivativesLedger.set_settlement_price`,
else the last price), and a :class:`Settlement` record is reported to listeners that have
``on_settlement``.

Daily realised P&L is per UTC day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from gpt_trader.domain import (
    DerivativeTerms,
    ExpiryType,
    Fill,
    FundingPayment,
    MarginRates,
    MarginType,
    OrderRequest,
    Position,
    Product,
    ProductType,
    Side,
)
from gpt_trader.domain.margin_schedule import window_end
from gpt_trader.domain.money import currency_increment, fee_amount, quantize
from gpt_trader.domain.products import quantize_down
from gpt_trader.sim import margin_rules as rules
from gpt_trader.sim import margin_state as codec
from gpt_trader.sim.ledger import Ledger, ceil_to
from gpt_trader.sim.margin_records import (
    Close,
    DerivativesConfig,
    DerivativesListener,
    LiquidationFill,
    OrderTerms,
    PositionBook,
    PositionView,
    Settlement,
)
from gpt_trader.sim.margin_rules import FLAT, NS, Measure, next_boundary
from gpt_trader.sim.reasons import Reason
from gpt_trader.sim.state import need_dec

ZERO = Decimal(0)
DAY_S = 86_400
D = Decimal


def default_terms(product: Product) -> DerivativeTerms:
    """Terms for a FUTURE / PERPETUAL product that carries none: no expiry; a future
    margined 10 % long and short (25 % / 30 % overnight) in the ``"FUTURES"`` pool, a
    perpetual at 5 % (leverage up to 20, 1 when an order gives none) with hourly funding
    in the ``"PERPETUALS"`` pool."""
    if product.product_type is ProductType.PERPETUAL:
        rates = MarginRates(D("0.05"), D("0.05"))
        return DerivativeTerms(
            pool="PERPETUALS",
            intraday=rates,
            overnight=rates,
            max_leverage=D(20),
            default_leverage=D(1),
            margin_types=(MarginType.CROSS, MarginType.ISOLATED),
            expiry_type=ExpiryType.PERPETUAL,
            funding_interval_s=3600,
            funding_rate=D("0.00001"),
        )
    return DerivativeTerms(
        pool="FUTURES",
        intraday=MarginRates(D("0.10"), D("0.10")),
        overnight=MarginRates(D("0.25"), D("0.30")),
        max_leverage=D(10),
    )


class DerivativesLedger:
    """Collateral pools, positions, margin, funding and expiry (module docstring).

    ``products``: every product of the exchange (spot ones are ignored); a derivative
    without ``derivative`` terms gets :func:`default_terms`. ``mark(symbol)`` gives the
    last price (None when unknown). ``taker_fee`` is used for order holds. Ids are
    ``f"{id_prefix}-..."``.
    """

    def __init__(
        self,
        products: Mapping[str, Product],
        config: DerivativesConfig,
        *,
        mark: Callable[[str], Decimal | None],
        taker_fee: Decimal,
        id_prefix: str = "sim",
    ) -> None:
        self._products = {
            s: p for s, p in products.items() if p.product_type is not ProductType.SPOT
        }
        self._terms = {s: p.derivative or default_terms(p) for s, p in self._products.items()}
        self._mark_of = mark
        self.taker_fee = taker_fee
        self._prefix = id_prefix
        self._currency = dict(config.currencies)
        for s, p in self._products.items():
            self._currency[self._terms[s].pool] = p.quote
        self._pools = list(dict.fromkeys([*config.pools, *(t.pool for t in self._terms.values())]))
        self._cash = Ledger(config.pools)
        self._books: dict[str, PositionBook] = {}
        self._orders: dict[str, OrderTerms] = {}
        self._next_funding: dict[str, int] = {}
        self._next_window: int | None = None
        self._expired: set[str] = set()
        self._rates: dict[str, Decimal] = {}
        self._settle_px: dict[str, Decimal] = {}
        self._funding: list[FundingPayment] = []
        self._settlements: list[Settlement] = []
        self._liquidations: set[str] = set()
        self._counters: dict[str, int] = {}
        self.intraday_margin = config.intraday_margin
        self.multi_asset_collateral = False

    # ------------------------------------------------------------------ lookups

    def handles(self, symbol: str) -> bool:
        return symbol in self._products

    def symbols(self) -> list[str]:
        return list(self._products)

    def terms(self, symbol: str) -> DerivativeTerms:
        return self._terms[symbol]

    def product(self, symbol: str) -> Product:
        return self._products[symbol]

    def accounts(self) -> list[str]:
        """The pools some product trades against, configured ones first."""
        used = {t.pool for t in self._terms.values()}
        return [a for a in self._pools if a in used]

    def currency(self, account: str) -> str:
        return self._currency[account]

    def cash(self, account: str) -> Decimal:
        return self._cash.total(account)

    def isolated_margin(self, account: str) -> Decimal:
        """Margin the pool's isolated positions hold (out of its cash)."""
        return sum(
            (b.isolated_margin for s, b in self._books.items() if self._terms[s].pool == account),
            ZERO,
        )

    def pool_hold(self, account: str) -> Decimal:
        """What the pool's working orders hold."""
        return self._cash.hold(account)

    def _cents(self, account: str) -> Decimal:
        """The increment of ``account``'s currency: what its cash moves in."""
        return currency_increment(self._currency[account])

    def _realized(self, account: str) -> Decimal:
        """The exact realised P&L of every position margined in ``account``."""
        return sum(
            (
                b.position.realized_pnl
                for s, b in self._books.items()
                if self._terms[s].pool == account
            ),
            ZERO,
        )

    def order_hold(self, client_order_id: str) -> Decimal:
        return self._cash.order_hold(client_order_id)

    def is_expired(self, symbol: str) -> bool:
        return symbol in self._expired

    def funding_rate(self, symbol: str) -> Decimal:
        return self._rates.get(symbol, self._terms[symbol].funding_rate)

    def next_funding_ts(self, symbol: str, ts: int) -> int | None:
        terms = self._terms[symbol]
        if terms.funding_interval_s is None:
            return None
        return self._next_funding.get(symbol) or next_boundary(ts, terms.funding_interval_s)

    def funding_payments(
        self, since_ts: int = 0, symbol: str | None = None
    ) -> list[FundingPayment]:
        return [
            p for p in self._funding if p.ts >= since_ts and (symbol is None or p.symbol == symbol)
        ]

    def settlements(self, symbol: str | None = None) -> list[Settlement]:
        return [s for s in self._settlements if symbol is None or s.symbol == symbol]

    def is_liquidation(self, trade_id: str) -> bool:
        return trade_id in self._liquidations

    def mark_liquidation(self, trade_id: str) -> None:
        self._liquidations.add(trade_id)

    def position(self, symbol: str) -> Position:
        """The live position object of ``symbol`` (created flat when first asked)."""
        return self.book(symbol).position

    def positions(self) -> list[Position]:
        """Open positions as domain objects, marked at the last price."""
        out = []
        for symbol, b in self._books.items():
            if b.position.is_flat:
                continue
            mark = self._mark_of(symbol)
            out.append(
                dataclasses.replace(
                    b.position, mark_price=mark if mark is not None else b.position.mark_price
                )
            )
        return out

    def books(self) -> dict[str, PositionBook]:
        """The margin-side state of every position ever opened, by symbol."""
        return dict(self._books)

    def book(self, symbol: str) -> PositionBook:
        """The margin-side state of ``symbol``'s position (created flat when first asked)."""
        b = self._books.get(symbol)
        if b is None:
            cs = self._products[symbol].contract_size
            b = self._books[symbol] = PositionBook(Position(symbol, contract_size=cs))
        return b

    def _next_id(self, kind: str, symbol: str = "") -> str:
        key = f"{kind}-{symbol}" if symbol else kind
        n = self._counters.get(key, 0) + 1
        self._counters[key] = n
        return f"{self._prefix}-{key}-{n}"

    # ------------------------------------------------------------------ margin

    def rates(self, symbol: str, ts: int) -> MarginRates:
        """The initial margin rates in force for ``symbol`` at ``ts``."""
        return rules.rates_in_force(self._terms[symbol], ts, intraday_margin=self.intraday_margin)

    def _mark(self, symbol: str) -> Decimal:
        mark = self._mark_of(symbol)
        return mark if mark is not None else self.book(symbol).position.avg_entry_price

    def measure(self, symbol: str, ts: int, rates: MarginRates | None = None) -> Measure:
        """Notional, unrealised P&L, initial and maintenance margin at the mark, under the
        rates in force (or ``rates``)."""
        b = self.book(symbol)
        if b.position.size == 0:
            return FLAT
        return rules.measure(
            b.position,
            self._terms[symbol],
            self._mark(symbol),
            rates or self.rates(symbol, ts),
            b.leverage,
        )

    def cross(self, account: str) -> list[str]:
        """Symbols of the pool's open CROSS positions."""
        return [
            s
            for s, b in self._books.items()
            if b.position.size != 0
            and b.margin_type is MarginType.CROSS
            and self._terms[s].pool == account
        ]

    def equity(self, account: str, ts: int) -> Decimal:
        """Cash + unrealised P&L of the pool's cross positions."""
        return self._cash.total(account) + sum(
            (self.measure(s, ts).unrealized_pnl for s in self.cross(account)), ZERO
        )

    def available(self, account: str, ts: int) -> Decimal:
        """Margin free for new orders: equity - cross initial margin - order holds."""
        im = sum((self.measure(s, ts).initial_margin for s in self.cross(account)), ZERO)
        return self.equity(account, ts) - im - self._cash.hold(account)

    def liquidation_price(self, symbol: str, ts: int) -> Decimal | None:
        """Where the position would be liquidated (None: flat, or a long that cannot be)."""
        b = self.book(symbol)
        if b.position.size == 0:
            return None
        terms = self._terms[symbol]
        if b.margin_type is MarginType.ISOLATED:
            backing = b.isolated_margin
        else:
            backing = self._cash.total(terms.pool)
            for other in self.cross(terms.pool):
                if other != symbol:
                    m = self.measure(other, ts)
                    backing += m.unrealized_pnl - m.maintenance_margin
        return rules.liquidation_price(
            b.position,
            terms,
            self.rates(symbol, ts),
            backing,
            self._products[symbol].price_increment,
        )

    # ------------------------------------------------------------------ orders

    def hold_required(
        self,
        symbol: str,
        side: Side,
        size: Decimal,
        price: Decimal,
        *,
        leverage: Decimal | None,
        reduce_only: bool,
        ts: int,
    ) -> Decimal:
        """Initial margin of the opening part plus the taker fee on the whole order."""
        terms = self._terms[symbol]
        product = self._products[symbol]
        cs = product.contract_size
        b = self.book(symbol)
        opening = ZERO if reduce_only else rules.opening(b.position.size, side, size)
        base = self.rates(symbol, ts).for_sign(side.sign)
        lev = rules.effective_leverage(terms, leverage if leverage is not None else b.leverage)
        margin = opening * cs * price * rules.im_rate(base, lev)
        fee = fee_amount(size * cs * price, self.taker_fee, currency_increment(product.quote))
        return margin + fee

    def order_reason(
        self,
        request: OrderRequest,
        ts: int,
        margin_type: MarginType | None,
        price: Decimal | None,
    ) -> Reason | None:
        """Why the exchange refuses ``request`` on a derivative product, or None."""
        symbol = request.symbol
        terms = self._terms[symbol]
        if symbol in self._expired or (terms.expiry_ts is not None and ts >= terms.expiry_ts):
            return Reason.PRODUCT_NOT_TRADING
        lev, cap = request.leverage, terms.max_leverage
        if lev is not None and (not lev.is_finite() or lev < 1 or (cap is not None and lev > cap)):
            return Reason.INVALID_LEVERAGE
        if margin_type is not None and margin_type not in terms.margin_types:
            return Reason.INVALID_MARGIN_TYPE
        b = self.book(symbol)
        pos = b.position.size
        opening = rules.opening(pos, request.side, request.size)
        if request.reduce_only and opening > 0:
            return Reason.REDUCE_ONLY_INCREASES
        if (
            pos != 0
            and margin_type is not None
            and margin_type is not b.margin_type
            and (pos > 0) == (request.side is Side.BUY)
        ):
            # adds to a position margined the other way (a flip may change the type)
            return Reason.OPPOSITE_MARGIN_TYPE
        if opening == 0 or price is None:
            return None
        need = self.hold_required(
            symbol,
            request.side,
            request.size,
            price,
            leverage=lev,
            reduce_only=request.reduce_only,
            ts=ts,
        )
        if need > self.available(terms.pool, ts):
            return Reason.INSUFFICIENT_MARGIN
        return None

    def accept(
        self, request: OrderRequest, ts: int, margin_type: MarginType | None, price: Decimal
    ) -> None:
        """Record an accepted order's terms and hold its margin."""
        terms = OrderTerms(margin_type, request.leverage, request.reduce_only, price)
        self._orders[request.client_order_id] = terms
        self._hold(request.client_order_id, request.symbol, request.side, request.size, ts)

    def _hold(self, cid: str, symbol: str, side: Side, remaining: Decimal, ts: int) -> None:
        terms = self._orders.get(cid)
        if terms is None or remaining <= 0:
            self._cash.release(cid)
            return
        need = self.hold_required(
            symbol,
            side,
            remaining,
            terms.price,
            leverage=terms.leverage,
            reduce_only=terms.reduce_only,
            ts=ts,
        )
        self._cash.place_hold(cid, self._terms[symbol].pool, need)

    def edit_need(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> tuple[Decimal, Decimal]:
        """(hold the edited order needs, margin available for it) for an edit check."""
        terms = self._orders.get(cid)
        lev = terms.leverage if terms else None
        reduce_only = terms.reduce_only if terms else False
        need = self.hold_required(
            symbol, side, remaining, price, leverage=lev, reduce_only=reduce_only, ts=ts
        )
        have = self.available(self._terms[symbol].pool, ts) + self._cash.order_hold(cid)
        return need, have

    def edited(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> None:
        terms = self._orders.get(cid)
        if terms is not None:
            terms.price = price
        self._hold(cid, symbol, side, remaining, ts)

    def after_update(
        self,
        symbol: str,
        cid: str,
        side: Side,
        remaining: Decimal,
        terminal: bool,
        filled: bool,
        ts: int,
    ) -> None:
        """Release an ended order's hold; re-hold the rest of a partly filled one."""
        if terminal:
            self._cash.release(cid)
            self._orders.pop(cid, None)
        elif filled:
            self._hold(cid, symbol, side, remaining, ts)

    # ------------------------------------------------------------------ fills

    def on_fill(self, fill: Fill) -> Decimal:
        """Settle one fill: position, realised P&L and fee into the pool, isolated margin.
        Returns the realised P&L (before fees)."""
        symbol = fill.symbol
        terms = self._terms[symbol]
        account = terms.pool
        b = self.book(symbol)
        pos = b.position
        before = pos.size
        signed = fill.size if fill.side is Side.BUY else -fill.size
        same = before == 0 or (before > 0) == (signed > 0)
        closing = ZERO if same else min(abs(signed), abs(before))
        cents = self._cents(account)
        if closing and b.margin_type is MarginType.ISOLATED:
            freed = (
                b.isolated_margin
                if closing == abs(before)
                else quantize(b.isolated_margin * closing / abs(before), cents)
            )
            b.isolated_margin -= freed
            self._cash.credit(account, freed)
        booked = self._realized(account)
        realized = pos.apply(fill)
        # the pool holds its positions' exact realised P&L rounded, never further off
        moved = quantize(self._realized(account), cents) - quantize(booked, cents)
        self._cash.credit(account, moved - fill.fee)
        day = fill.ts // NS // DAY_S
        if b.day != day:
            b.day, b.daily_realized = day, ZERO
        b.daily_realized += realized
        order = self._orders.get(fill.client_order_id)
        if pos.size == 0:
            self._cash.credit(account, b.isolated_margin)
            b.isolated_margin = ZERO
            b.margin_type = MarginType.CROSS
            b.leverage = None
            self._next_funding.pop(symbol, None)
            return realized
        opened = before == 0 or (pos.size > 0) != (before > 0)
        if opened:
            b.margin_type = (order.margin_type if order else None) or MarginType.CROSS
            b.leverage = order.leverage if order else None
        elif same and order is not None and order.leverage is not None:
            b.leverage = order.leverage
        opening = abs(signed) - closing
        if opening > 0 and b.margin_type is MarginType.ISOLATED:
            base = self.rates(symbol, fill.ts).for_sign(rules.sign(pos.size))
            rate = rules.im_rate(base, rules.effective_leverage(terms, b.leverage))
            need = ceil_to(opening * pos.contract_size * fill.price * rate, cents)
            self._cash.debit(account, need)
            b.isolated_margin += need
        if terms.funding_interval_s is not None and symbol not in self._next_funding:
            self._next_funding[symbol] = next_boundary(fill.ts, terms.funding_interval_s)
        self._arm_window(fill.ts)
        return realized

    def _arm_window(self, ts: int) -> None:
        """Wake at the next margin-window boundary while intraday rates are in use and a
        cross position of a scheduled product is open (its margin changes there)."""
        if self._next_window is not None or not self.intraday_margin:
            return
        ends = [
            window_end(ts, schedule)
            for s, b in self._books.items()
            if b.position.size != 0
            and b.margin_type is MarginType.CROSS
            and (schedule := self._terms[s].schedule) is not None
        ]
        if ends:
            self._next_window = min(ends)

    # ------------------------------------------------------------------ schedule

    def next_event(self, ts: int) -> tuple[int, int, str, str] | None:
        """The earliest scheduled event due at or before ``ts``: (time, order, kind, key).

        Kinds: "funding" (key = symbol), "window" (a margin-window boundary while intraday
        rates are in use and scheduled cross positions are open), "expiry" (symbol). The
        caller processes it and asks again; each processing moves the item on.
        """
        due: list[tuple[int, int, str, str]] = []
        for symbol, t in self._next_funding.items():
            if t <= ts:
                due.append((t, 0, "funding", symbol))
        if self._next_window is not None and self._next_window <= ts:
            due.append((self._next_window, 1, "window", ""))
        for symbol, terms in self._terms.items():
            expiry = terms.expiry_ts
            if expiry is not None and expiry <= ts and symbol not in self._expired:
                due.append((expiry, 2, "expiry", symbol))
        return min(due) if due else None

    def apply_funding(self, symbol: str, t: int) -> FundingPayment | None:
        """The funding exchange due at ``t`` on ``symbol``'s position (None when flat)."""
        terms = self._terms[symbol]
        assert terms.funding_interval_s is not None
        b = self.book(symbol)
        pos = b.position
        if pos.size == 0:
            self._next_funding.pop(symbol, None)
            return None
        self._next_funding[symbol] = t + terms.funding_interval_s * NS
        product = self._products[symbol]
        mark = self._mark(symbol)
        rate = self.funding_rate(symbol)
        raw = -(pos.size * pos.contract_size * mark * rate)
        amount = quantize(raw, currency_increment(product.quote))
        payment = FundingPayment(
            payment_id=self._next_id("funding", symbol),
            symbol=symbol,
            ts=t,
            rate=rate,
            mark_price=mark,
            size=pos.size,
            contract_size=pos.contract_size,
            amount=amount,
            currency=product.quote,
        )
        pos.funding += amount
        if b.margin_type is MarginType.ISOLATED:
            b.isolated_margin += amount
        else:
            self._cash.credit(terms.pool, amount)
        self._funding.append(payment)
        return payment

    def window_passed(self, t: int) -> None:
        self._next_window = None
        self._arm_window(t)

    def expire(self, symbol: str) -> Close | None:
        """Mark ``symbol`` expired; the close that settles its position (None when flat)."""
        self._expired.add(symbol)
        pos = self.book(symbol).position
        if pos.size == 0:
            return None
        price = self._settle_px.get(symbol, self._mark(symbol))
        side = Side.SELL if pos.size > 0 else Side.BUY
        return Close(symbol, side, abs(pos.size), price)

    def record_settlement(
        self, close: Close, ts: int, realized: Decimal, trade_id: str
    ) -> Settlement:
        signed = close.size if close.side is Side.SELL else -close.size
        record = Settlement(
            settlement_id=self._next_id("settlement", close.symbol),
            symbol=close.symbol,
            ts=ts,
            price=close.price,
            size=signed,
            realized_pnl=realized,
            currency=self._products[close.symbol].quote,
            trade_id=trade_id,
        )
        self._settlements.append(record)
        return record

    def venue_order_id(self, kind: str, symbol: str) -> str:
        """A client_order_id for a venue-originated order (liquidation, settlement)."""
        return self._next_id(kind.lower(), symbol)

    # ------------------------------------------------------------------ liquidation

    def _breached(self, symbol: str, price: Decimal | None) -> bool:
        if price is None:
            return False
        mark = self._mark_of(symbol)
        if mark is None:
            return False
        size = self.book(symbol).position.size
        return mark <= price if size > 0 else mark >= price

    def next_liquidation(self, ts: int, moved: str | None = None) -> Close | None:
        """The next position the venue must close, or None when every pool is healthy."""
        for symbol, b in sorted(self._books.items()):
            if b.position.size != 0 and b.margin_type is MarginType.ISOLATED:
                price = self.liquidation_price(symbol, ts)
                if self._breached(symbol, price):
                    assert price is not None
                    return self._close_at(symbol, price)
        for account in self.accounts():
            cross = self.cross(account)
            if not cross:
                continue
            if moved in cross:
                price = self.liquidation_price(moved, ts)
                if self._breached(moved, price):
                    assert price is not None
                    return self._close_at(moved, price)
            mm = sum((self.measure(s, ts).maintenance_margin for s in cross), ZERO)
            if self.equity(account, ts) < mm:
                worst = max(cross, key=lambda s: (self.measure(s, ts).maintenance_margin, s))
                return self._close_at(worst, self._mark(worst))
        return None

    def _close_at(self, symbol: str, price: Decimal) -> Close:
        size = self.book(symbol).position.size
        return Close(symbol, Side.SELL if size > 0 else Side.BUY, abs(size), price)

    # ------------------------------------------------------------------ views

    def position_view(self, symbol: str, ts: int) -> PositionView:
        b = self.book(symbol)
        pos = b.position
        terms = self._terms[symbol]
        notional, upnl, im, mm = self.measure(symbol, ts)
        day = ts // NS // DAY_S
        return PositionView(
            symbol=symbol,
            account=terms.pool,
            currency=self._products[symbol].quote,
            size=pos.size,
            contract_size=pos.contract_size,
            entry_price=pos.avg_entry_price,
            mark_price=self._mark(symbol),
            notional=notional,
            unrealized_pnl=upnl,
            realized_pnl=pos.realized_pnl,
            daily_realized_pnl=b.daily_realized if b.day == day else ZERO,
            funding=pos.funding,
            fees=pos.fees,
            initial_margin=b.isolated_margin if b.margin_type is MarginType.ISOLATED else im,
            maintenance_margin=mm,
            liquidation_price=self.liquidation_price(symbol, ts),
            leverage=notional / im if im > 0 else ZERO,
            margin_type=b.margin_type,
            isolated_margin=b.isolated_margin,
            expiry_ts=terms.expiry_ts,
        )

    def open_positions(self, ts: int, account: str | None = None) -> list[PositionView]:
        return [
            self.position_view(s, ts)
            for s, b in self._books.items()
            if b.position.size != 0 and (account is None or self._terms[s].pool == account)
        ]

    # ------------------------------------------------------------------ settings and transfers

    def set_intraday_margin(self, on: bool, ts: int) -> None:
        """Opt in to (or out of) intraday margin rates."""
        self.intraday_margin = on
        self._next_window = None
        self._arm_window(ts)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        if not self._terms[symbol].has_funding:
            raise ValueError(f"{symbol} has no funding")
        self._rates[symbol] = rate

    def set_settlement_price(self, symbol: str, price: Decimal) -> None:
        if self._terms[symbol].expiry_ts is None:
            raise ValueError(f"{symbol} does not expire")
        self._settle_px[symbol] = price

    def deposit(self, account: str, amount: Decimal) -> None:
        """Add collateral to a pool (a transfer in; the caller debits the source)."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        self._cash.credit(account, amount)

    def withdrawable(self, account: str, ts: int) -> Decimal:
        """What can leave a pool now: its free cash, capped by the available margin, down to
        the cent."""
        can = max(ZERO, min(self._cash.available(account), self.available(account, ts)))
        return quantize_down(can, self._cents(account))

    def withdraw(self, account: str, amount: Decimal, ts: int) -> None:
        if amount <= 0 or amount > self.withdrawable(account, ts):
            raise ValueError(f"cannot withdraw {amount} from {account}")
        self._cash.debit(account, amount)

    def allocate(self, symbol: str, amount: Decimal, ts: int) -> Decimal:
        """Move ``amount`` from the pool into an open ISOLATED position's margin; returns
        the new isolated margin. ValueError when there is no such position or cash."""
        b = self._books.get(symbol)
        if b is None or b.position.size == 0 or b.margin_type is not MarginType.ISOLATED:
            raise ValueError(f"no open isolated position in {symbol}")
        account = self._terms[symbol].pool
        if amount <= 0 or amount > self.withdrawable(account, ts):
            raise ValueError(f"cannot allocate {amount} to {symbol}")
        self._cash.debit(account, amount)
        b.isolated_margin += amount
        return b.isolated_margin

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        return {
            "cash": self._cash.to_state(),
            "books": {s: codec.book_to_json(b) for s, b in self._books.items()},
            "terms": {cid: codec.order_terms_to_json(t) for cid, t in self._orders.items()},
            "next_funding": dict(self._next_funding),
            "next_window": self._next_window,
            "expired": sorted(self._expired),
            "rates": {s: str(r) for s, r in self._rates.items()},
            "settle_px": {s: str(p) for s, p in self._settle_px.items()},
            "funding": [codec.funding_to_json(p) for p in self._funding],
            "settlements": [codec.settlement_to_json(s) for s in self._settlements],
            "liquidations": sorted(self._liquidations),
            "counters": dict(self._counters),
            "intraday_margin": self.intraday_margin,
            "multi_asset_collateral": self.multi_asset_collateral,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._cash = Ledger()
        self._cash.load_state(state["cash"])
        self._books = {
            s: codec.book_from_json(s, d, self._products[s].contract_size)
            for s, d in state["books"].items()
            if s in self._products
        }
        self._orders = {cid: codec.order_terms_from_json(t) for cid, t in state["terms"].items()}
        self._next_funding = {str(s): int(t) for s, t in state["next_funding"].items()}
        nw = state.get("next_window")
        self._next_window = None if nw is None else int(nw)
        self._expired = set(state["expired"])
        self._rates = {s: need_dec(r) for s, r in state["rates"].items()}
        self._settle_px = {s: need_dec(p) for s, p in state["settle_px"].items()}
        self._funding = [codec.funding_from_json(p) for p in state["funding"]]
        self._settlements = [codec.settlement_from_json(s) for s in state["settlements"]]
        self._liquidations = set(state["liquidations"])
        self._counters = {str(k): int(v) for k, v in state["counters"].items()}
        self.intraday_margin = bool(state.get("intraday_margin", False))
        self.multi_asset_collateral = bool(state.get("multi_asset_collateral", False))


__all__ = [
    "Close",
    "DerivativesConfig",
    "DerivativesLedger",
    "DerivativesListener",
    "FundingPayment",
    "LiquidationFill",
    "OrderTerms",
    "PositionBook",
    "PositionView",
    "Settlement",
    "default_terms",
]
