"""Collateral pools and positions of the simulated exchange's derivative products, and
what they require: the base of :class:`~gpt_trader.sim.margin.DerivativesLedger`.

Everything known about a product comes from its :class:`~gpt_trader.domain.DerivativeTerms`
(``Product.derivative``; :func:`default_terms` for a FUTURE / PERPETUAL that carries none):
the pool it trades against (the pool's currency is the product's quote), margin rates and
their schedule, leverage cap and default, margin types. Per pool: its cash, in a
:class:`~gpt_trader.sim.ledger.Ledger` that also keeps the holds of working orders; per
product: one position (:class:`~gpt_trader.sim.margin_records.PositionBook`; ``size``
signed, in contracts; money per contract is ``price * contract_size``).

Requirements are exact Decimals (the maths of one position: :mod:`gpt_trader.sim.
margin_rules`). Equity of a pool = cash + unrealised P&L of its CROSS positions; available
margin = equity - IM of the cross positions - order holds; ``mark`` is the product's last
traded price. CROSS positions share the pool's equity; an ISOLATED one stands on its own
``isolated_margin``. The leverage of a position is that of the last order that opened or
added to it, else the product's ``default_leverage``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal

from gpt_trader.domain import (
    DerivativeTerms,
    ExpiryType,
    MarginRates,
    MarginType,
    Position,
    Product,
    ProductType,
)
from gpt_trader.domain.money import currency_increment
from gpt_trader.sim import margin_rules as rules
from gpt_trader.sim.ledger import Ledger
from gpt_trader.sim.margin_records import DerivativesConfig, PositionBook
from gpt_trader.sim.margin_rules import FLAT, Measure

ZERO = Decimal(0)
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


class MarginAccount:
    """Pools, positions and their requirements (module docstring).

    ``products``: every product of the exchange (spot ones are ignored). ``mark(symbol)``
    gives the last price (None when unknown). ``taker_fee`` is used for order holds. Ids
    are ``f"{id_prefix}-..."``.
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
        self._counters: dict[str, int] = {}
        self._expired: set[str] = set()  # products past their expiry (no longer trading)
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

    def is_expired(self, symbol: str) -> bool:
        return symbol in self._expired

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

    # ------------------------------------------------------------------ requirements

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
