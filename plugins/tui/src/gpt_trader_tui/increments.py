"""The increments the dashboard quantises to, learnt from what the run recorded.

The store keeps no list of products, so each product's increments come from figures that
are on them by construction: the venue's fills (prices on the tick, sizes on the base
increment), the recorded market data, and the positions the kernel saved (quantised to
the product's increments). A figure's decimal places are its increment's; the finest seen
wins, since a venue may drop trailing zeros (``94250.5`` on a 0.01 tick). A figure with
more than :data:`MAX_PLACES` places is a computed ratio (an old store's average entry
price), not a point of any grid, and teaches nothing. An increment learnt this way is a
power of ten: a product ticking in steps of 5 shows its prices to the unit.

Cash, fees and P&L go to the quote currency's increment (``money.currency_increment``):
the quote of a ``BASE-QUOTE`` symbol, else the run's (its summary's ``quote_currency``;
USD, the kernel's default, until a run has reported one).
"""

from __future__ import annotations

from decimal import Decimal

from gpt_trader.domain import money

MAX_PLACES = 8
DEFAULT_QUOTE = "USD"


class Increments:
    """Each symbol's price tick and size increment as the run's figures show them."""

    def __init__(self) -> None:
        self.quote = DEFAULT_QUOTE
        self._ticks: dict[str, int] = {}
        self._lots: dict[str, int] = {}

    def see_price(self, symbol: str, value: Decimal | None) -> None:
        _learn(self._ticks, symbol, value)

    def see_size(self, symbol: str, value: Decimal | None) -> None:
        _learn(self._lots, symbol, value)

    def price(self, symbol: str, value: Decimal) -> Decimal:
        return _on(self._ticks.get(symbol), value)

    def size(self, symbol: str, value: Decimal) -> Decimal:
        return _on(self._lots.get(symbol), value)

    def quote_of(self, symbol: str) -> str:
        """A spot symbol's quote (``ETH-BTC``: BTC); the run's for anything else (a
        future's or a perpetual's name does not say its settlement currency)."""
        parts = symbol.split("-")
        return parts[1] if len(parts) == 2 else self.quote

    def cash(self, value: Decimal, symbol: str | None = None) -> Decimal:
        """Money in ``symbol``'s quote currency (the run's when None)."""
        quote = self.quote if symbol is None else self.quote_of(symbol)
        return money.quantize(value, money.currency_increment(quote))


def _learn(grid: dict[str, int], symbol: str, value: Decimal | None) -> None:
    if value is None:
        return
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -MAX_PLACES:
        return
    grid[symbol] = min(exponent, grid.get(symbol, 0))


def _on(exponent: int | None, value: Decimal) -> Decimal:
    if exponent is None:
        return value  # nothing recorded for it yet: shown as it is
    return money.quantize(value, Decimal(1).scaleb(exponent))
