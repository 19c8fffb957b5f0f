"""Margin accounting for the derivative products of the simulated exchange.

:class:`DerivativesLedger` is what :class:`~gpt_trader.sim.exchange.SimExchange` uses for
every FUTURE / PERPETUAL product (see :mod:`gpt_trader.sim.derivatives` for the products).
It keeps, per collateral pool ("FCM" in USD for CFM futures, "INTX" in USDC for INTX
perpetuals), the cash and the holds of working orders, and per product one position.

Positions. ``size`` is signed, in contracts; money per contract is ``price *
contract_size``. Average-cost entry and realised P&L are the domain
:class:`~gpt_trader.domain.Position`'s (so ``Position.funding`` and ``contract_size`` are
filled). A fill credits the pool with its realised P&L and debits its fee.

Cash rounding: every amount that moves a pool's cash is on the quote currency's increment
(cents), so pools stay on cents after any number of fills: fees are rounded up (the
matching engine's, :func:`~gpt_trader.domain.money.fee_amount`), funding payments
half-even, isolated margin taken from the pool up, margin released pro rata half-even,
sweeps and withdrawals down. Positions keep their exact realised P&L; a fill credits the
pool with what it moved the pool's total realised P&L once rounded half-even, so the pool
holds the exact figure rounded, never drifting from it. Order holds are not cash: exact.

Margin measures (IM, MM, equity, available margin, liquidation prices) are exact Decimals,
not rounded:

* initial margin (IM) of a position = ``|size| * contract_size * mark * im_rate`` where
  ``im_rate = max(product rate, 1 / leverage)``; the product rate is the intraday rate when
  the account opted in to intraday margin and the clock is in the intraday window (CFM
  only, see :func:`~gpt_trader.sim.derivatives.margin_window`), else the overnight rate; the
  long or short rate by the position's side. ``leverage`` is the position's: that of the
  last order that opened or added to it, else the product's default (none on CFM: the rate
  decides; 1.0 on INTX, as the API documents).
* maintenance margin (MM) = ``|size| * contract_size * mark * product rate *
  maintenance_fraction`` (0.5): half the initial margin at full leverage. Leverage below
  the maximum commits more margin but does not move the maintenance level.
* equity of a pool = cash + unrealised P&L of its CROSS positions; available margin =
  equity - IM (cross) - order holds. ``mark`` is the product's last traded price.

Margin types. CROSS (the default; CFM offers only CROSS) shares the pool's equity.
ISOLATED (INTX only) moves the opening part's initial margin from the pool into the
position's own ``isolated_margin`` when it fills; closing releases it pro rata;
:meth:`DerivativesLedger.allocate` adds to it. An order whose margin type differs from the
open position's is rejected (``PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS``).

Orders. An accepted order holds, in its pool, the initial margin of the part that would
open or grow a position (``max(0, size - what it can close)`` at the limit price, or the
estimated price of a market order) plus the taker fee on the whole order; the hold is
recomputed after each fill and released when the order ends. Too little available margin
-> rejected ``PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES`` (CFM) / ``INSUFFICIENT_FUNDS``
(INTX); an order that only reduces is never refused for margin. ``reduce_only`` orders that
would open, grow or flip a position are rejected
``PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE`` (checked at submit, against the position
only; resting reduce-only orders are not resized when the position changes).

Liquidation. The liquidation price of a position solves ``equity(p) = maintenance(p)``
with every other price fixed: ``p = (entry * n - E) / (n - |n| * mmr)``, ``n = size *
contract_size``, ``E`` = the isolated margin, or for CROSS the pool's cash plus
``unrealised - maintenance`` of its other cross positions; rounded to the tick against the
holder (up for a long, down for a short). When a mark reaches it the whole position is
closed by a venue order (tag ``LIQUIDATION_TAG``) AT that price, fee = taker rate, reported
as a :class:`LiquidationFill` (``is_liquidation`` True, ``order_type`` "LIQUIDATION")
through the same listener path as every fill; a gap through the price is absorbed by the
venue (insurance fund). When a pool's equity falls below its maintenance margin for
another reason (funding, a margin-window change), its largest cross position is closed at
the mark. Working orders of the liquidated product are cancelled first.

Funding (products with a funding interval: INTX perpetuals and CFM perp-style futures). At
every multiple of the interval since the epoch (each hour on the hour) an open position
pays ``size * contract_size * mark * rate`` (longs pay a positive rate, shorts receive),
rounded half-even to the quote currency's increment (cents), out of / into the pool (or the
isolated margin). Each payment is a :class:`FundingPayment` with an id, kept in order and
reported to listeners that have ``on_funding``. Rates: the product's, changeable with
:meth:`DerivativesLedger.set_funding_rate`.

Expiry. At ``expiry_ts`` an EXPIRING product stops trading (``UNTRADABLE_PRODUCT``), its
working orders are cancelled and its position is closed by a venue order (tag
``SETTLEMENT_TAG``, no fee) at the settlement price (set with
:meth:`DerivativesLedger.set_settlement_price`, else the last price), and a
:class:`Settlement` record is reported to listeners that have ``on_settlement``.

Sweeps (CFM -> spot USD). At most one pending sweep; it runs at the next 22:00 UTC and
moves the requested amount (or all, when none was given), capped by what the pool can
spare (cash available and available margin).

Daily realised P&L is per UTC day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any, Protocol

from gpt_trader.domain import (
    Fill,
    FundingPayment,
    MarginType,
    OrderRequest,
    Position,
    Product,
    ProductType,
    Side,
)
from gpt_trader.domain.margin_windows import MarginWindow, margin_window, window_end
from gpt_trader.domain.money import currency_increment, fee_amount, quantize
from gpt_trader.domain.products import quantize_down
from gpt_trader.sim import reasons as R
from gpt_trader.sim.derivatives import (
    DAY_S,
    FCM,
    INTX,
    NS,
    DerivativeSpec,
    IntradaySetting,
    MarginRates,
    next_boundary,
    spec_for,
)
from gpt_trader.sim.ledger import Ledger, ceil_to
from gpt_trader.sim.state import dec, need_dec, undec

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
SWEEP_HOUR_UTC = 22
ACCOUNTS = (FCM, INTX)


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settlement:
    """The cash settlement of a position at expiry (``size`` = signed contracts closed)."""

    settlement_id: str
    symbol: str
    ts: int
    price: Decimal
    size: Decimal
    realized_pnl: Decimal
    currency: str
    trade_id: str


@dataclass(frozen=True, slots=True)
class LiquidationFill(Fill):
    """A fill of a venue liquidation order: a Fill, plus the two flags Coinbase reports."""

    is_liquidation: bool = True
    order_type: str = "LIQUIDATION"

    @classmethod
    def of(cls, fill: Fill) -> LiquidationFill:
        return cls(**{f.name: getattr(fill, f.name) for f in dataclasses.fields(Fill)})


class SweepStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    CANCELLED = "CANCELLED"


@dataclass(slots=True)
class Sweep:
    """A CFM -> spot USD sweep; ``amount`` None means "everything that can go"."""

    sweep_id: str
    amount: Decimal | None
    requested_ts: int
    scheduled_ts: int
    status: SweepStatus = SweepStatus.PENDING
    swept: Decimal = ZERO

    @property
    def sweep_all(self) -> bool:
        return self.amount is None


class DerivativesListener(Protocol):
    """Optional callbacks a BrokerListener may also have (looked up with getattr)."""

    def on_funding(self, payment: FundingPayment) -> None: ...
    def on_settlement(self, settlement: Settlement) -> None: ...


@dataclass(frozen=True, slots=True)
class DerivativesConfig:
    """Starting collateral and settings of the derivative accounts.

    ``futures_cash``: the CFM pool (USD), funded separately from spot USD, as on Coinbase
    where API orders are not auto-swept from spot. ``perps_cash``: the INTX pool (USDC).
    ``maker_fee`` / ``taker_fee``: rates for derivative products (None = the exchange's).
    ``intraday_margin``: start opted in to intraday margin rates.
    """

    futures_cash: Decimal = ZERO
    perps_cash: Decimal = ZERO
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    intraday_margin: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    """A position the venue closes: liquidation or expiry settlement."""

    symbol: str
    side: Side
    size: Decimal
    price: Decimal


@dataclass(slots=True)
class _Book:
    """The margin-side state of one product's position."""

    position: Position
    margin_type: MarginType = MarginType.CROSS
    leverage: Decimal | None = None
    isolated_margin: Decimal = ZERO
    day: int = 0
    daily_realized: Decimal = ZERO


@dataclass(slots=True)
class _Terms:
    """What an accepted order asked for that the Order does not carry."""

    margin_type: MarginType | None
    leverage: Decimal | None
    reduce_only: bool
    price: Decimal


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position with everything the venue reports about it at one time."""

    symbol: str
    account: str
    currency: str
    size: Decimal
    contract_size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    daily_realized_pnl: Decimal
    funding: Decimal
    fees: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    liquidation_price: Decimal | None
    leverage: Decimal
    margin_type: MarginType
    isolated_margin: Decimal
    expiry_ts: int | None

    @property
    def side(self) -> str:
        return "LONG" if self.size > 0 else "SHORT" if self.size < 0 else "UNKNOWN"

    def as_position(self) -> Position:
        """The view as a domain Position (what a broker hands ``on_venue_position``); a flat
        view has no liquidation price, margin or leverage (0 means none)."""
        return Position(
            self.symbol,
            size=self.size,
            avg_entry_price=self.entry_price,
            realized_pnl=self.realized_pnl,
            fees=self.fees,
            funding=self.funding,
            mark_price=self.mark_price,
            contract_size=self.contract_size,
            liquidation_price=self.liquidation_price,
            leverage=self.leverage if self.leverage > 0 else None,
            initial_margin=self.initial_margin,
        )


@dataclass(frozen=True, slots=True)
class WindowMeasure:
    """The account's requirements under one window's rates (cross positions)."""

    window: MarginWindow
    initial_margin: Decimal
    maintenance_margin: Decimal
    buying_power: Decimal
    liquidation_buffer_pct: Decimal


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One collateral pool at one time. ``collateral`` is its cash (isolated margins
    excluded); ``equity`` = collateral + unrealised P&L of cross positions."""

    account: str
    currency: str
    window: MarginWindow
    collateral: Decimal
    isolated_margin: Decimal
    unrealized_pnl: Decimal
    daily_realized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    order_hold: Decimal
    equity: Decimal
    available_margin: Decimal
    liquidation_buffer: Decimal
    liquidation_buffer_pct: Decimal
    position_notional: Decimal
    intraday: WindowMeasure
    overnight: WindowMeasure

    @property
    def total_balance(self) -> Decimal:
        """Cash + isolated margins + all unrealised P&L: what the pool is worth now."""
        return self.collateral + self.isolated_margin + self.unrealized_pnl


def _pct(buffer: Decimal, mm: Decimal) -> Decimal:
    return (buffer / mm * HUNDRED).quantize(ONE) if mm > 0 else ZERO


def _sign(x: Decimal) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


# -- the ledger ---------------------------------------------------------------------------------


class DerivativesLedger:
    """Collateral pools, positions, margin, funding, expiry and sweeps (module docstring).

    ``products``: every product of the exchange (spot ones are ignored); ``specs``
    overrides the catalogue per symbol. ``mark(symbol)`` gives the last price (None when
    unknown). ``taker_fee`` is used for order holds. Ids are ``f"{id_prefix}-..."``.
    """

    def __init__(
        self,
        products: Mapping[str, Product],
        config: DerivativesConfig,
        *,
        mark: Callable[[str], Decimal | None],
        taker_fee: Decimal,
        specs: Mapping[str, DerivativeSpec] | None = None,
        id_prefix: str = "sim",
    ) -> None:
        self._products = {
            s: p for s, p in products.items() if p.product_type is not ProductType.SPOT
        }
        given = dict(specs or {})
        self._specs = {s: given.get(s) or spec_for(p) for s, p in self._products.items()}
        self._mark_of = mark
        self.taker_fee = taker_fee
        self._prefix = id_prefix
        self._currency = {FCM: "USD", INTX: "USDC"}
        for s, p in self._products.items():
            self._currency[self._specs[s].account] = p.quote
        self._cash = Ledger({FCM: config.futures_cash, INTX: config.perps_cash})
        self._books: dict[str, _Book] = {}
        self._terms: dict[str, _Terms] = {}
        self._next_funding: dict[str, int] = {}
        self._next_window: int | None = None
        self._expired: set[str] = set()
        self._rates: dict[str, Decimal] = {}
        self._settle_px: dict[str, Decimal] = {}
        self._funding: list[FundingPayment] = []
        self._settlements: list[Settlement] = []
        self._sweeps: list[Sweep] = []
        self._liquidations: set[str] = set()
        self._counters: dict[str, int] = {}
        self.intraday_setting = (
            IntradaySetting.INTRADAY if config.intraday_margin else IntradaySetting.STANDARD
        )
        self.multi_asset_collateral = False

    # ------------------------------------------------------------------ lookups

    def handles(self, symbol: str) -> bool:
        return symbol in self._products

    def symbols(self) -> list[str]:
        return list(self._products)

    def spec(self, symbol: str) -> DerivativeSpec:
        return self._specs[symbol]

    def product(self, symbol: str) -> Product:
        return self._products[symbol]

    def accounts(self) -> list[str]:
        """The pools some product trades against, FCM first."""
        used = {s.account for s in self._specs.values()}
        return [a for a in ACCOUNTS if a in used]

    def currency(self, account: str) -> str:
        return self._currency[account]

    def cash(self, account: str) -> Decimal:
        return self._cash.total(account)

    def _cents(self, account: str) -> Decimal:
        """The increment of ``account``'s currency: what its cash moves in."""
        return currency_increment(self._currency[account])

    def _realized(self, account: str) -> Decimal:
        """The exact realised P&L of every position margined in ``account``."""
        return sum(
            (
                b.position.realized_pnl
                for s, b in self._books.items()
                if self._specs[s].account == account
            ),
            ZERO,
        )

    def order_hold(self, client_order_id: str) -> Decimal:
        return self._cash.order_hold(client_order_id)

    def is_expired(self, symbol: str) -> bool:
        return symbol in self._expired

    def funding_rate(self, symbol: str) -> Decimal:
        return self._rates.get(symbol, self._specs[symbol].funding_rate)

    def next_funding_ts(self, symbol: str, ts: int) -> int | None:
        spec = self._specs[symbol]
        if spec.funding_interval_s is None:
            return None
        return self._next_funding.get(symbol) or next_boundary(ts, spec.funding_interval_s)

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
        return self._book(symbol).position

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

    def _book(self, symbol: str) -> _Book:
        b = self._books.get(symbol)
        if b is None:
            cs = self._products[symbol].contract_size
            b = self._books[symbol] = _Book(Position(symbol, contract_size=cs))
        return b

    def _next_id(self, kind: str, symbol: str = "") -> str:
        key = f"{kind}-{symbol}" if symbol else kind
        n = self._counters.get(key, 0) + 1
        self._counters[key] = n
        return f"{self._prefix}-{key}-{n}"

    # ------------------------------------------------------------------ margin math

    def _rates_for(self, spec: DerivativeSpec, ts: int) -> MarginRates:
        if (
            spec.has_windows
            and self.intraday_setting is IntradaySetting.INTRADAY
            and margin_window(ts) is MarginWindow.INTRADAY
        ):
            return spec.intraday
        return spec.overnight

    def _mark(self, symbol: str) -> Decimal:
        mark = self._mark_of(symbol)
        return mark if mark is not None else self._book(symbol).position.avg_entry_price

    @staticmethod
    def _im_rate(base: Decimal, leverage: Decimal | None) -> Decimal:
        return base if leverage is None or leverage <= 0 else max(base, ONE / leverage)

    def _leverage(self, spec: DerivativeSpec, leverage: Decimal | None) -> Decimal | None:
        return leverage if leverage is not None else spec.default_leverage

    def _measure(
        self, symbol: str, ts: int, rates: MarginRates | None = None
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(notional, unrealised P&L, initial margin, maintenance margin) at the mark."""
        b = self._book(symbol)
        pos = b.position
        if pos.size == 0:
            return ZERO, ZERO, ZERO, ZERO
        spec = self._specs[symbol]
        mark = self._mark(symbol)
        n = pos.size * pos.contract_size
        notional = abs(n) * mark
        upnl = (mark - pos.avg_entry_price) * n
        base = (rates or self._rates_for(spec, ts)).for_sign(_sign(pos.size))
        im = notional * self._im_rate(base, self._leverage(spec, b.leverage))
        mm = notional * base * spec.maintenance_fraction
        return notional, upnl, im, mm

    def _cross(self, account: str) -> list[str]:
        return [
            s
            for s, b in self._books.items()
            if b.position.size != 0
            and b.margin_type is MarginType.CROSS
            and self._specs[s].account == account
        ]

    def equity(self, account: str, ts: int) -> Decimal:
        """Cash + unrealised P&L of the pool's cross positions."""
        return self._cash.total(account) + sum(
            (self._measure(s, ts)[1] for s in self._cross(account)), ZERO
        )

    def available(self, account: str, ts: int) -> Decimal:
        """Margin free for new orders: equity - cross initial margin - order holds."""
        im = sum((self._measure(s, ts)[2] for s in self._cross(account)), ZERO)
        return self.equity(account, ts) - im - self._cash.hold(account)

    def liquidation_price(self, symbol: str, ts: int) -> Decimal | None:
        """Where the position would be liquidated (None: flat, or a long that cannot be)."""
        b = self._book(symbol)
        pos = b.position
        if pos.size == 0:
            return None
        spec = self._specs[symbol]
        product = self._products[symbol]
        n = pos.size * pos.contract_size
        mmr = self._rates_for(spec, ts).for_sign(_sign(pos.size)) * spec.maintenance_fraction
        if b.margin_type is MarginType.ISOLATED:
            rest = b.isolated_margin
        else:
            rest = self._cash.total(spec.account)
            for other in self._cross(spec.account):
                if other != symbol:
                    _, upnl, _, mm = self._measure(other, ts)
                    rest += upnl - mm
        denom = n - abs(n) * mmr
        if denom == 0:
            return None
        price = (pos.avg_entry_price * n - rest) / denom
        if price <= 0:
            return None
        inc = product.price_increment
        rounding = ROUND_CEILING if pos.size > 0 else ROUND_FLOOR
        return ((price / inc).to_integral_value(rounding=rounding) * inc).quantize(inc)

    # ------------------------------------------------------------------ orders

    @staticmethod
    def _opening(position: Decimal, side: Side, size: Decimal) -> Decimal:
        """The part of an order of ``size`` on ``side`` that opens or grows a position."""
        if position == 0 or (position > 0) == (side is Side.BUY):
            return size
        return max(ZERO, size - abs(position))

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
        spec = self._specs[symbol]
        product = self._products[symbol]
        cs = product.contract_size
        pos = self._book(symbol).position.size
        opening = ZERO if reduce_only else self._opening(pos, side, size)
        base = self._rates_for(spec, ts).for_sign(side.sign)
        lev = self._leverage(
            spec, leverage if leverage is not None else self._book(symbol).leverage
        )
        margin = opening * cs * price * self._im_rate(base, lev)
        fee = fee_amount(size * cs * price, self.taker_fee, currency_increment(product.quote))
        return margin + fee

    def order_reason(
        self,
        request: OrderRequest,
        ts: int,
        margin_type: MarginType | None,
        price: Decimal | None,
    ) -> str | None:
        """Why the venue refuses ``request`` on a derivative product, or None."""
        symbol = request.symbol
        spec = self._specs[symbol]
        if symbol in self._expired or (spec.expiry_ts is not None and ts >= spec.expiry_ts):
            return R.UNTRADABLE_PRODUCT
        lev = request.leverage
        if lev is not None and (not lev.is_finite() or lev < 1 or lev > spec.max_leverage):
            return R.INVALID_LEVERAGE
        if margin_type is not None and margin_type not in spec.margin_types:
            return R.INVALID_MARGIN_TYPE
        b = self._book(symbol)
        pos = b.position.size
        opening = self._opening(pos, request.side, request.size)
        if request.reduce_only and opening > 0:
            return R.REDUCE_ONLY_INCREASES
        if (
            pos != 0
            and margin_type is not None
            and margin_type is not b.margin_type
            and (pos > 0) == (request.side is Side.BUY)
        ):
            # adds to a position margined the other way (a flip may change the type)
            return R.OPPOSITE_MARGIN_TYPE_EXISTS
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
        if need > self.available(spec.account, ts):
            return R.INSUFFICIENT_FUNDS_FOR_FUTURES if spec.account == FCM else R.INSUFFICIENT_FUNDS
        return None

    def accept(
        self, request: OrderRequest, ts: int, margin_type: MarginType | None, price: Decimal
    ) -> None:
        """Record an accepted order's terms and hold its margin."""
        terms = _Terms(margin_type, request.leverage, request.reduce_only, price)
        self._terms[request.client_order_id] = terms
        self._hold(request.client_order_id, request.symbol, request.side, request.size, ts)

    def _hold(self, cid: str, symbol: str, side: Side, remaining: Decimal, ts: int) -> None:
        terms = self._terms.get(cid)
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
        self._cash.place_hold(cid, self._specs[symbol].account, need)

    def edit_need(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> tuple[Decimal, Decimal]:
        """(hold the edited order needs, margin available for it) for an edit check."""
        terms = self._terms.get(cid)
        lev = terms.leverage if terms else None
        reduce_only = terms.reduce_only if terms else False
        need = self.hold_required(
            symbol, side, remaining, price, leverage=lev, reduce_only=reduce_only, ts=ts
        )
        have = self.available(self._specs[symbol].account, ts) + self._cash.order_hold(cid)
        return need, have

    def edited(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> None:
        terms = self._terms.get(cid)
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
            self._terms.pop(cid, None)
        elif filled:
            self._hold(cid, symbol, side, remaining, ts)

    # ------------------------------------------------------------------ fills

    def on_fill(self, fill: Fill) -> Decimal:
        """Settle one fill: position, realised P&L and fee into the pool, isolated margin.
        Returns the realised P&L (before fees)."""
        symbol = fill.symbol
        spec = self._specs[symbol]
        account = spec.account
        b = self._book(symbol)
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
        terms = self._terms.get(fill.client_order_id)
        if pos.size == 0:
            self._cash.credit(account, b.isolated_margin)
            b.isolated_margin = ZERO
            b.margin_type = MarginType.CROSS
            b.leverage = None
            self._next_funding.pop(symbol, None)
            return realized
        opened = before == 0 or (pos.size > 0) != (before > 0)
        if opened:
            b.margin_type = (terms.margin_type if terms else None) or MarginType.CROSS
            b.leverage = terms.leverage if terms else None
        elif same and terms is not None and terms.leverage is not None:
            b.leverage = terms.leverage
        opening = abs(signed) - closing
        if opening > 0 and b.margin_type is MarginType.ISOLATED:
            base = self._rates_for(spec, fill.ts).for_sign(_sign(pos.size))
            rate = self._im_rate(base, self._leverage(spec, b.leverage))
            need = ceil_to(opening * pos.contract_size * fill.price * rate, cents)
            self._cash.debit(account, need)
            b.isolated_margin += need
        if spec.funding_interval_s is not None and symbol not in self._next_funding:
            self._next_funding[symbol] = next_boundary(fill.ts, spec.funding_interval_s)
        self._arm_window(fill.ts)
        return realized

    def _arm_window(self, ts: int) -> None:
        if (
            self._next_window is None
            and self.intraday_setting is IntradaySetting.INTRADAY
            and self._cross(FCM)
        ):
            self._next_window = window_end(ts)

    # ------------------------------------------------------------------ schedule

    def next_event(self, ts: int) -> tuple[int, int, str, str] | None:
        """The earliest scheduled event due at or before ``ts``: (time, order, kind, key).

        Kinds: "funding" (key = symbol), "window" (a margin-window boundary while intraday
        rates are in use and CFM positions are open), "expiry" (symbol), "sweep" (sweep id).
        The caller processes it and asks again; each processing moves the item on.
        """
        due: list[tuple[int, int, str, str]] = []
        for symbol, t in self._next_funding.items():
            if t <= ts:
                due.append((t, 0, "funding", symbol))
        if self._next_window is not None and self._next_window <= ts:
            due.append((self._next_window, 1, "window", ""))
        for symbol, spec in self._specs.items():
            if spec.expiry_ts is not None and spec.expiry_ts <= ts and symbol not in self._expired:
                due.append((spec.expiry_ts, 2, "expiry", symbol))
        for sw in self._sweeps:
            if sw.status is SweepStatus.PENDING and sw.scheduled_ts <= ts:
                due.append((sw.scheduled_ts, 3, "sweep", sw.sweep_id))
        return min(due) if due else None

    def apply_funding(self, symbol: str, t: int) -> FundingPayment | None:
        """The funding exchange due at ``t`` on ``symbol``'s position (None when flat)."""
        spec = self._specs[symbol]
        assert spec.funding_interval_s is not None
        b = self._book(symbol)
        pos = b.position
        if pos.size == 0:
            self._next_funding.pop(symbol, None)
            return None
        self._next_funding[symbol] = t + spec.funding_interval_s * NS
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
            self._cash.credit(spec.account, amount)
        self._funding.append(payment)
        return payment

    def window_passed(self, t: int) -> None:
        self._next_window = None
        self._arm_window(t)

    def expire(self, symbol: str) -> Close | None:
        """Mark ``symbol`` expired; the close that settles its position (None when flat)."""
        self._expired.add(symbol)
        pos = self._book(symbol).position
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
        size = self._book(symbol).position.size
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
            cross = self._cross(account)
            if not cross:
                continue
            if moved in cross:
                price = self.liquidation_price(moved, ts)
                if self._breached(moved, price):
                    assert price is not None
                    return self._close_at(moved, price)
            mm = sum((self._measure(s, ts)[3] for s in cross), ZERO)
            if self.equity(account, ts) < mm:
                worst = max(cross, key=lambda s: (self._measure(s, ts)[3], s))
                return self._close_at(worst, self._mark(worst))
        return None

    def _close_at(self, symbol: str, price: Decimal) -> Close:
        size = self._book(symbol).position.size
        return Close(symbol, Side.SELL if size > 0 else Side.BUY, abs(size), price)

    # ------------------------------------------------------------------ views

    def position_view(self, symbol: str, ts: int) -> PositionView:
        b = self._book(symbol)
        pos = b.position
        spec = self._specs[symbol]
        notional, upnl, im, mm = self._measure(symbol, ts)
        day = ts // NS // DAY_S
        return PositionView(
            symbol=symbol,
            account=spec.account,
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
            expiry_ts=spec.expiry_ts,
        )

    def open_positions(self, ts: int, account: str | None = None) -> list[PositionView]:
        return [
            self.position_view(s, ts)
            for s, b in self._books.items()
            if b.position.size != 0 and (account is None or self._specs[s].account == account)
        ]

    def _window_measure(self, account: str, ts: int, window: MarginWindow) -> WindowMeasure:
        im = mm = ZERO
        for s in self._cross(account):
            spec = self._specs[s]
            rates = spec.intraday if window is MarginWindow.INTRADAY else spec.overnight
            _, _, i, m = self._measure(s, ts, rates)
            im += i
            mm += m
        equity = self.equity(account, ts)
        buying_power = equity - im - self._cash.hold(account)
        return WindowMeasure(window, im, mm, buying_power, _pct(equity - mm, mm))

    def summary(self, account: str, ts: int) -> AccountSummary:
        upnl_all = im_all = mm_all = notional = isolated = daily = ZERO
        day = ts // NS // DAY_S
        for s, b in self._books.items():
            if self._specs[s].account != account:
                continue
            if b.day == day:
                daily += b.daily_realized
            if b.position.size == 0:
                continue
            n, upnl, im, mm = self._measure(s, ts)
            notional += n
            upnl_all += upnl
            mm_all += mm
            if b.margin_type is MarginType.ISOLATED:
                isolated += b.isolated_margin
                im_all += b.isolated_margin
            else:
                im_all += im
        cross = self._cross(account)
        im_cross = sum((self._measure(s, ts)[2] for s in cross), ZERO)
        mm_cross = sum((self._measure(s, ts)[3] for s in cross), ZERO)
        equity = self.equity(account, ts)
        hold = self._cash.hold(account)
        window = margin_window(ts)
        return AccountSummary(
            account=account,
            currency=self._currency[account],
            window=window,
            collateral=self._cash.total(account),
            isolated_margin=isolated,
            unrealized_pnl=upnl_all,
            daily_realized_pnl=daily,
            initial_margin=im_all,
            maintenance_margin=mm_all,
            order_hold=hold,
            equity=equity,
            available_margin=equity - im_cross - hold,
            liquidation_buffer=equity - mm_cross,
            liquidation_buffer_pct=_pct(equity - mm_cross, mm_cross),
            position_notional=notional,
            intraday=self._window_measure(account, ts, MarginWindow.INTRADAY),
            overnight=self._window_measure(account, ts, MarginWindow.OVERNIGHT),
        )

    # ------------------------------------------------------------------ settings and transfers

    def set_intraday_setting(self, setting: IntradaySetting, ts: int) -> None:
        self.intraday_setting = setting
        self._next_window = None
        self._arm_window(ts)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        if not self._specs[symbol].has_funding:
            raise ValueError(f"{symbol} has no funding")
        self._rates[symbol] = rate

    def set_settlement_price(self, symbol: str, price: Decimal) -> None:
        if self._specs[symbol].expiry_ts is None:
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
        account = self._specs[symbol].account
        if amount <= 0 or amount > self.withdrawable(account, ts):
            raise ValueError(f"cannot allocate {amount} to {symbol}")
        self._cash.debit(account, amount)
        b.isolated_margin += amount
        return b.isolated_margin

    # ------------------------------------------------------------------ sweeps

    def pending_sweeps(self) -> list[Sweep]:
        return [s for s in self._sweeps if s.status is SweepStatus.PENDING]

    def sweeps(self) -> list[Sweep]:
        return list(self._sweeps)

    def schedule_sweep(self, amount: Decimal | None, ts: int) -> Sweep | None:
        """Queue a CFM -> spot sweep for the next 22:00 UTC; None when one is pending."""
        if amount is not None and amount <= 0:
            raise ValueError("sweep amount must be positive")
        if self.pending_sweeps():
            return None
        day = ts // NS // DAY_S * DAY_S
        at = (day + SWEEP_HOUR_UTC * 3600) * NS
        if at <= ts:
            at += DAY_S * NS
        sweep = Sweep(self._next_id("sweep"), amount, ts, at)
        self._sweeps.append(sweep)
        return sweep

    def cancel_sweep(self) -> bool:
        pending = self.pending_sweeps()
        for s in pending:
            s.status = SweepStatus.CANCELLED
        return bool(pending)

    def process_sweep(self, sweep_id: str, ts: int) -> Decimal:
        """Run a due sweep: takes the amount out of the FCM pool and returns it (the caller
        credits spot USD)."""
        sweep = next(s for s in self._sweeps if s.sweep_id == sweep_id)
        can = self.withdrawable(FCM, ts)
        asked = None if sweep.amount is None else quantize_down(sweep.amount, self._cents(FCM))
        amount = can if asked is None else min(asked, can)
        if amount > 0:
            self._cash.debit(FCM, amount)
        sweep.status = SweepStatus.PROCESSED
        sweep.swept = amount
        return amount

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        return {
            "cash": self._cash.to_state(),
            "books": {
                s: {
                    "size": str(b.position.size),
                    "avg_entry_price": str(b.position.avg_entry_price),
                    "realized_pnl": str(b.position.realized_pnl),
                    "fees": str(b.position.fees),
                    "funding": str(b.position.funding),
                    "mark_price": str(b.position.mark_price),
                    "margin_type": b.margin_type.value,
                    "leverage": dec(b.leverage),
                    "isolated_margin": str(b.isolated_margin),
                    "day": b.day,
                    "daily_realized": str(b.daily_realized),
                }
                for s, b in self._books.items()
            },
            "terms": {
                cid: {
                    "margin_type": None if t.margin_type is None else t.margin_type.value,
                    "leverage": dec(t.leverage),
                    "reduce_only": t.reduce_only,
                    "price": str(t.price),
                }
                for cid, t in self._terms.items()
            },
            "next_funding": dict(self._next_funding),
            "next_window": self._next_window,
            "expired": sorted(self._expired),
            "rates": {s: str(r) for s, r in self._rates.items()},
            "settle_px": {s: str(p) for s, p in self._settle_px.items()},
            "funding": [
                {
                    "payment_id": p.payment_id,
                    "symbol": p.symbol,
                    "ts": p.ts,
                    "rate": str(p.rate),
                    "mark_price": str(p.mark_price),
                    "size": str(p.size),
                    "contract_size": str(p.contract_size),
                    "amount": str(p.amount),
                    "currency": p.currency,
                }
                for p in self._funding
            ],
            "settlements": [
                {
                    "settlement_id": s.settlement_id,
                    "symbol": s.symbol,
                    "ts": s.ts,
                    "price": str(s.price),
                    "size": str(s.size),
                    "realized_pnl": str(s.realized_pnl),
                    "currency": s.currency,
                    "trade_id": s.trade_id,
                }
                for s in self._settlements
            ],
            "sweeps": [
                {
                    "sweep_id": s.sweep_id,
                    "amount": dec(s.amount),
                    "requested_ts": s.requested_ts,
                    "scheduled_ts": s.scheduled_ts,
                    "status": s.status.value,
                    "swept": str(s.swept),
                }
                for s in self._sweeps
            ],
            "liquidations": sorted(self._liquidations),
            "counters": dict(self._counters),
            "intraday_setting": self.intraday_setting.value,
            "multi_asset_collateral": self.multi_asset_collateral,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._cash = Ledger()
        self._cash.load_state(state["cash"])
        self._books = {}
        for s, d in state["books"].items():
            if s not in self._products:
                continue
            cs = self._products[s].contract_size
            pos = Position(
                s,
                size=need_dec(d["size"]),
                avg_entry_price=need_dec(d["avg_entry_price"]),
                realized_pnl=need_dec(d["realized_pnl"]),
                fees=need_dec(d["fees"]),
                funding=need_dec(d["funding"]),
                mark_price=need_dec(d["mark_price"]),
                contract_size=cs,
            )
            self._books[s] = _Book(
                pos,
                MarginType(d["margin_type"]),
                undec(d.get("leverage")),
                need_dec(d["isolated_margin"]),
                int(d["day"]),
                need_dec(d["daily_realized"]),
            )
        self._terms = {
            cid: _Terms(
                None if t["margin_type"] is None else MarginType(t["margin_type"]),
                undec(t.get("leverage")),
                bool(t["reduce_only"]),
                need_dec(t["price"]),
            )
            for cid, t in state["terms"].items()
        }
        self._next_funding = {str(s): int(t) for s, t in state["next_funding"].items()}
        nw = state.get("next_window")
        self._next_window = None if nw is None else int(nw)
        self._expired = set(state["expired"])
        self._rates = {s: need_dec(r) for s, r in state["rates"].items()}
        self._settle_px = {s: need_dec(p) for s, p in state["settle_px"].items()}
        self._funding = [
            FundingPayment(
                str(p["payment_id"]),
                str(p["symbol"]),
                int(p["ts"]),
                need_dec(p["rate"]),
                need_dec(p["mark_price"]),
                need_dec(p["size"]),
                need_dec(p["contract_size"]),
                need_dec(p["amount"]),
                str(p["currency"]),
            )
            for p in state["funding"]
        ]
        self._settlements = [
            Settlement(
                str(s["settlement_id"]),
                str(s["symbol"]),
                int(s["ts"]),
                need_dec(s["price"]),
                need_dec(s["size"]),
                need_dec(s["realized_pnl"]),
                str(s["currency"]),
                str(s["trade_id"]),
            )
            for s in state["settlements"]
        ]
        self._sweeps = [
            Sweep(
                str(s["sweep_id"]),
                undec(s.get("amount")),
                int(s["requested_ts"]),
                int(s["scheduled_ts"]),
                SweepStatus(s["status"]),
                need_dec(s["swept"]),
            )
            for s in state["sweeps"]
        ]
        self._liquidations = set(state["liquidations"])
        self._counters = {str(k): int(v) for k, v in state["counters"].items()}
        self.intraday_setting = IntradaySetting(state["intraday_setting"])
        self.multi_asset_collateral = bool(state.get("multi_asset_collateral", False))


__all__ = [
    "AccountSummary",
    "Close",
    "DerivativesConfig",
    "DerivativesLedger",
    "DerivativesListener",
    "FundingPayment",
    "LiquidationFill",
    "PositionView",
    "Settlement",
    "Sweep",
    "SweepStatus",
    "WindowMeasure",
]
