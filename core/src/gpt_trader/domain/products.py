"""Tradable products and the quantisation every amount passes before it leaves the kernel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum

from gpt_trader.domain.money import power_of_ten

ONE = Decimal(1)


class ProductType(StrEnum):
    SPOT = "SPOT"
    FUTURE = "FUTURE"
    PERPETUAL = "PERPETUAL"


class MarginType(StrEnum):
    """How a derivative position is margined: on the pool's shared equity, or on margin
    set aside for the one position."""

    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


class ExpiryType(StrEnum):
    EXPIRING = "EXPIRING"
    PERPETUAL = "PERPETUAL"


@dataclass(frozen=True, slots=True)
class MarginRates:
    """Initial margin rates (fractions of notional) for a long and a short position."""

    long: Decimal
    short: Decimal

    def for_sign(self, sign: int) -> Decimal:
        return self.long if sign > 0 else self.short


@dataclass(frozen=True, slots=True)
class MarginSchedule:
    """When a product's intraday rates apply: from ``intraday_start_s`` to
    ``intraday_end_s`` seconds into the UTC day, Monday to Friday when ``weekdays_only``
    (Saturday and Sunday UTC are then a weekend window). Every other time the overnight
    rates apply. See :mod:`gpt_trader.domain.margin_schedule`."""

    intraday_start_s: int
    intraday_end_s: int
    weekdays_only: bool = True


@dataclass(frozen=True, slots=True)
class DerivativeTerms:
    """Everything a futures or perpetual product adds to a spot one: what the simulated
    exchange margins, funds and expires it by, and what guards plan with. Data only; the
    venue's plugin that describes the product fills it in.

    ``pool``: the collateral pool the product trades against (a name; its currency is the
    product's quote). ``intraday`` / ``overnight``: initial margin rates; ``schedule`` says
    when the intraday ones apply (None: no windows; give both the same rates). Maintenance
    margin is ``maintenance_fraction`` of the initial rate.
    ``max_leverage`` caps an order's leverage (None: no cap); ``default_leverage`` applies when an order
    gives none (None = the rate decides). ``expiry_ts`` (int ns UTC) is None for a product
    that does not expire; ``funding_interval_s`` None for one without funding, else
    ``funding_rate`` is paid per interval (positive: longs pay shorts).
    """

    pool: str
    intraday: MarginRates
    overnight: MarginRates
    max_leverage: Decimal | None = None
    default_leverage: Decimal | None = None
    maintenance_fraction: Decimal = Decimal("0.5")
    margin_types: tuple[MarginType, ...] = (MarginType.CROSS,)
    expiry_ts: int | None = None
    expiry_type: ExpiryType = ExpiryType.EXPIRING
    funding_interval_s: int | None = None
    funding_rate: Decimal = Decimal(0)
    schedule: MarginSchedule | None = None

    @property
    def has_windows(self) -> bool:
        """Intraday and overnight rates differ by time of day (a schedule is given)."""
        return self.schedule is not None

    @property
    def has_funding(self) -> bool:
        return self.funding_interval_s is not None

    def initial_rate(self, sign: int, *, overnight: bool) -> Decimal:
        """Initial margin rate of a long (``sign`` > 0) or short position in a window (the
        intraday rates when the product has no schedule)."""
        rates = self.overnight if overnight and self.has_windows else self.intraday
        return rates.for_sign(sign)


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
    """Margin, funding and expiry terms; set on every FUTURE / PERPETUAL product."""

    @property
    def is_derivative(self) -> bool:
        return self.product_type is not ProductType.SPOT

    def quantize_size(self, size: Decimal) -> Decimal:
        """Size rounded down to the base increment (never more than was asked for)."""
        inc = self.base_increment
        tens = power_of_ten(inc)
        if tens is not None:
            return size.quantize(tens, ROUND_DOWN).quantize(inc)
        return quantize_down(size, inc).quantize(inc)

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
        if self.quantize_size(size) != size:
            return f"size {size} is not a multiple of {self.base_increment} for {self.symbol}"
        return None

    def price_error(self, price: Decimal) -> str | None:
        """Why ``price`` is not a valid limit price, or None."""
        if price <= 0:
            return f"price {price} must be positive"
        if quantize_down(price, self.price_increment) != price:
            return f"price {price} is not a multiple of {self.price_increment} for {self.symbol}"
        return None
