"""The dev universe: ten USD spot products with a real venue's increments, and market
profiles.

Used when no venue describes the products (the ``sim`` broker, the synthetic feed, tests).
Increments and limits follow a major US venue's product listings; start prices and
volatilities are round early-2025 figures, only there to make the synthetic walk look real.
Symbols outside the table come from the product catalogues plugins register
(:class:`~gpt_trader.components.ProductCatalogue`, e.g. a venue's futures); a derivative
walks like its underlying's USD pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gpt_trader.components import ProductCatalogue
from gpt_trader.domain import Product
from gpt_trader.errors import UserError

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


def _unknown(symbol: str, catalogues: Sequence[ProductCatalogue]) -> UserError:
    if catalogues:
        asked = "; ".join(
            c.name + (f" (e.g. {', '.join(c.examples)})" if c.examples else "") for c in catalogues
        )
    else:
        asked = "none installed"
    return UserError(
        f"unknown sim product {symbol!r}; known: {', '.join(DEV_UNIVERSE)}"
        f"; product catalogues asked: {asked}"
    )


def default_products(
    symbols: Iterable[str] = DEV_UNIVERSE, catalogues: Sequence[ProductCatalogue] = ()
) -> dict[str, Product]:
    """Products for ``symbols`` (e.g. ``["BTC-USD"]``), keyed by symbol, in the given order:
    the dev table's, else the first of ``catalogues`` that knows the symbol.

    Raises :class:`UserError` naming the known symbols and the catalogues asked when one is
    in neither.
    """
    out: dict[str, Product] = {}
    for symbol in symbols:
        base, sep, quote = symbol.partition("-")
        if not sep or quote != "USD" or base not in _TABLE:
            found = next((p for c in catalogues if (p := c.lookup(symbol)) is not None), None)
            if found is None:
                raise _unknown(symbol, catalogues)
            out[symbol] = found
            continue
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


def market_profile(product: Product | str) -> MarketProfile:
    """The synthetic-walk profile of a product (or symbol); :data:`FALLBACK_PROFILE` if not
    in the table. A derivative product walks like its underlying's USD pair (a BTC future
    like ``BTC-USD``)."""
    if isinstance(product, str):
        symbol = product
    else:
        symbol = f"{product.base}-USD" if product.is_derivative else product.symbol
    base, _, quote = symbol.partition("-")
    if quote == "USD" and base in _TABLE:
        return _TABLE[base][3]
    return FALLBACK_PROFILE
