"""The dev universe: ten USD spot products with Coinbase's increments, and market profiles.

Used when no venue describes the products (the ``sim`` broker, the synthetic feed, tests).
Increments and limits follow Coinbase's ``GET /products`` answers; start prices and
volatilities are round early-2025 figures, only there to make the synthetic walk look real.
Derivative ids (``BIT-28NOV26-CDE``, ``BIP-20DEC30-CDE``, ``BTC-PERP-INTX``, see
:mod:`gpt_trader.sim.derivatives`) are accepted too; they walk like their underlying.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gpt_trader.domain import Product
from gpt_trader.errors import UserError
from gpt_trader.sim.derivatives import (
    DERIVATIVE_EXAMPLES,
    derivative_spec,
    derivatives_products,
    is_derivative_symbol,
)

D = Decimal


@dataclass(frozen=True, slots=True)
class MarketProfile:
    """How a symbol behaves in the synthetic feed: start price, annualised volatility
    (a fraction, 0.55 = 55 %/year) and typical daily traded value in USD."""

    start_price: Decimal
    annual_vol: float
    daily_volume_usd: Decimal


# base, base_increment, price_increment, base_max_size, profile
_TABLE: dict[str, tuple[str, str, str, MarketProfile]] = {
    "BTC": ("0.00000001", "0.01", "3400", MarketProfile(D("100000.00"), 0.55, D("1000000000"))),
    "ETH": ("0.00000001", "0.01", "38000", MarketProfile(D("3500.00"), 0.70, D("500000000"))),
    "SOL": ("0.00000001", "0.01", "250000", MarketProfile(D("200.00"), 0.90, D("300000000"))),
    "XRP": ("0.000001", "0.0001", "5000000", MarketProfile(D("2.2000"), 0.95, D("200000000"))),
    "LTC": ("0.00000001", "0.01", "30000", MarketProfile(D("100.00"), 0.80, D("30000000"))),
    "ADA": ("0.00000001", "0.0001", "1500000", MarketProfile(D("0.9000"), 0.90, D("40000000"))),
    "DOGE": ("0.1", "0.00001", "30000000", MarketProfile(D("0.30000"), 1.00, D("80000000"))),
    "BCH": ("0.00000001", "0.01", "2600", MarketProfile(D("400.00"), 0.80, D("20000000"))),
    "AVAX": ("0.00000001", "0.01", "100000", MarketProfile(D("35.00"), 0.95, D("30000000"))),
    "LINK": ("0.01", "0.001", "180000", MarketProfile(D("20.000"), 0.85, D("30000000"))),
}

DEV_UNIVERSE: tuple[str, ...] = tuple(f"{base}-USD" for base in _TABLE)
"""The ten symbols :func:`default_products` knows, in the order of the table."""

FALLBACK_PROFILE = MarketProfile(D("100"), 0.80, D("10000000"))
"""Profile for a product outside the dev universe (a venue-described product, say)."""


def _known() -> str:
    return ", ".join(DEV_UNIVERSE)


def _split(symbol: str) -> tuple[str, str]:
    base, sep, quote = symbol.partition("-")
    if not sep or quote != "USD" or base not in _TABLE:
        raise UserError(
            f"unknown sim product {symbol!r}; known: {_known()}"
            f" (and derivatives such as {', '.join(DERIVATIVE_EXAMPLES)})"
        )
    return base, quote


def default_products(symbols: Iterable[str] = DEV_UNIVERSE) -> dict[str, Product]:
    """Products for ``symbols`` (e.g. ``["BTC-USD"]``), keyed by symbol, in the given order.

    Raises :class:`UserError` naming the known symbols when one is not in the dev universe.
    """
    out: dict[str, Product] = {}
    for symbol in symbols:
        if is_derivative_symbol(symbol):
            out.update(derivatives_products([symbol]))
            continue
        base, quote = _split(symbol)
        base_inc, price_inc, max_size, _ = _TABLE[base]
        out[symbol] = Product(
            symbol=symbol,
            base=base,
            quote=quote,
            base_increment=D(base_inc),
            price_increment=D(price_inc),
            base_min_size=D(base_inc),
            base_max_size=D(max_size),
            quote_increment=D(price_inc),
            quote_min_size=D("1"),
        )
    return out


def market_profile(symbol: str) -> MarketProfile:
    """The synthetic-walk profile of ``symbol``; :data:`FALLBACK_PROFILE` if not in the table.
    A derivative walks like its underlying (``BIT-28NOV26-CDE`` like ``BTC-USD``)."""
    if is_derivative_symbol(symbol):
        symbol = f"{derivative_spec(symbol).root}-USD"
    base, _, quote = symbol.partition("-")
    if quote == "USD" and base in _TABLE:
        return _TABLE[base][3]
    return FALLBACK_PROFILE
