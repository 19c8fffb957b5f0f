"""Tradable products and the quantisation every amount passes before it leaves the kernel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum

ONE = Decimal(1)


class ProductType(StrEnum):
    SPOT = "SPOT"
    FUTURE = "FUTURE"
    PERPETUAL = "PERPETUAL"


class MarginType(StrEnum):
    """How a derivative position is margined. CFM supports CROSS only; INTX both."""

    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


@dataclass(frozen=True, slots=True)
class DerivativeTerms:
    """What a futures or perpetual product adds to a spot one, as the venue lists it.

    Margin rates are initial-margin fractions of notional; ``maintenance_fraction`` of the
    initial rate is the maintenance requirement. CFM has an intraday and an overnight
    window (``has_windows``); INTX has one set of rates. ``expiry_ts`` is None for a
    perpetual; ``funding_interval_s`` is None for a product without funding.
    """

    intraday_long: Decimal
    intraday_short: Decimal
    overnight_long: Decimal
    overnight_short: Decimal
    max_leverage: Decimal | None = None
    expiry_ts: int | None = None
    funding_interval_s: int | None = None
    maintenance_fraction: Decimal = Decimal("0.5")
    has_windows: bool = False
    margin_types: tuple[MarginType, ...] = (MarginType.CROSS,)

    def initial_rate(self, sign: int, *, overnight: bool) -> Decimal:
        """Initial margin rate of a long (``sign`` > 0) or short position in a window."""
        if overnight and self.has_windows:
            return self.overnight_long if sign > 0 else self.overnight_short
        return self.intraday_long if sign > 0 else self.intraday_short


def quantize_down(value: Decimal, increment: Decimal) -> Decimal:
    """Round toward zero to a multiple of ``increment`` (sizes never round up)."""
    return (value / increment).to_integral_value(rounding=ROUND_DOWN) * increment


@dataclass(frozen=True, slots=True)
class Product:
    """A market as the venue describes it; increments and limits are the venue's."""

    symbol: str
    base: str
    quote: str
    base_increment: Decimal
    price_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    quote_increment: Decimal = Decimal("0.01")
    quote_min_size: Decimal = Decimal("1")
    product_type: ProductType = ProductType.SPOT
    contract_size: Decimal = ONE
    derivative: DerivativeTerms | None = None

    @property
    def is_derivative(self) -> bool:
        return self.product_type is not ProductType.SPOT

    def quantize_size(self, size: Decimal) -> Decimal:
        """Size rounded down to the base increment (never more than was asked for)."""
        return quantize_down(size, self.base_increment).quantize(self.base_increment)

    def quantize_price(self, price: Decimal, *, conservative_for: str | None = None) -> Decimal:
        """Price on the tick grid.

        ``conservative_for="BUY"`` rounds down (never pay more than asked),
        ``"SELL"`` rounds up; otherwise half-even to the nearest tick.
        """
        inc = self.price_increment
        if conservative_for == "BUY":
            q = (price / inc).to_integral_value(rounding=ROUND_FLOOR)
        elif conservative_for == "SELL":
            q = (price / inc).to_integral_value(rounding=ROUND_CEILING)
        else:
            q = (price / inc).to_integral_value()
        return (q * inc).quantize(inc)

    def quantize_quote(self, amount: Decimal) -> Decimal:
        """A quote-currency amount (fees, notional) to the quote increment, half-even."""
        return amount.quantize(self.quote_increment)

    def size_error(self, size: Decimal) -> str | None:
        """Why ``size`` cannot be ordered, or None when it can."""
        if size <= 0:
            return f"size {size} must be positive"
        if size < self.base_min_size:
            return f"size {size} is below the minimum {self.base_min_size} for {self.symbol}"
        if size > self.base_max_size:
            return f"size {size} is above the maximum {self.base_max_size} for {self.symbol}"
        if quantize_down(size, self.base_increment) != size:
            return f"size {size} is not a multiple of {self.base_increment} for {self.symbol}"
        return None

    def price_error(self, price: Decimal) -> str | None:
        """Why ``price`` is not a valid limit price, or None."""
        if price <= 0:
            return f"price {price} must be positive"
        if quantize_down(price, self.price_increment) != price:
            return f"price {price} is not a multiple of {self.price_increment} for {self.symbol}"
        return None
