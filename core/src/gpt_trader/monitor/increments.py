"""The increments the dashboard quantises to: those of the products the runs recorded.

Every run records its products in the store (``products`` table) when it starts, so each
figure is shown on its product's own grid: prices on the tick, sizes on the base
increment. Cash, fees and P&L go to the quote currency's increment
(``money.currency_increment``): the product's quote, else the run's (its summary's
``quote_currency``; USD, the kernel's default, until a run has reported one). A symbol no
run recorded is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gpt_trader.domain import Product, money

DEFAULT_QUOTE = "USD"


class Increments:
    """Each symbol's price tick, size increment and quote, from the recorded products."""

    def __init__(self) -> None:
        self.quote = DEFAULT_QUOTE
        self.products: Mapping[str, Product] = {}

    def price(self, symbol: str, value: Decimal) -> Decimal:
        product = self.products.get(symbol)
        return value if product is None else money.quantize(value, product.price_increment)

    def size(self, symbol: str, value: Decimal) -> Decimal:
        product = self.products.get(symbol)
        return value if product is None else money.quantize(value, product.base_increment)

    def quote_of(self, symbol: str) -> str:
        product = self.products.get(symbol)
        return product.quote if product is not None else self.quote

    def cash(self, value: Decimal, symbol: str | None = None) -> Decimal:
        """Money in ``symbol``'s quote currency (the run's when None)."""
        quote = self.quote if symbol is None else self.quote_of(symbol)
        return money.quantize(value, money.currency_increment(quote))
