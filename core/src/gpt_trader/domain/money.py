"""Money as it leaves the kernel: every figure quantised to its increment, as plain text.

Accounting keeps full precision (an average entry price is a ratio, a fee a fraction of a
cent); whatever a user or a script reads (the store's derived figures, ``--json``, reports,
the TUI, metrics) is rounded once, here, by one rule:

- prices to the product's ``price_increment``, base sizes to its ``base_increment``;
- cash, fees, P&L and equity to the quote currency's increment (cents for USD);
- half-even (banker's rounding) for reported figures, so rounding errors do not drift
  one way over many rows. What a venue charges is the venue's: the simulators round a
  fee up to the quote increment, as an exchange never undercharges (see ``fee_amount``).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
SATOSHI = Decimal("0.00000001")

# Reporting increments of the currencies a quote side can be in; anything else (a crypto
# quote such as BTC or ETH) reports to 1e-8.
CURRENCY_INCREMENTS: dict[str, Decimal] = {
    "USD": CENT,
    "USDC": CENT,
    "USDT": CENT,
    "EUR": CENT,
    "GBP": CENT,
    "CAD": CENT,
    "AUD": CENT,
    "SGD": CENT,
    "JPY": Decimal(1),
}


def currency_increment(currency: str) -> Decimal:
    """The smallest amount of ``currency`` a report shows (``USD`` -> 0.01)."""
    return CURRENCY_INCREMENTS.get(currency.upper(), SATOSHI)


# increment -> its power of ten as a quantum (0.01 and 0.010 -> 1E-2), or None when it is
# not a power of ten (a 0.25 tick). Every cent, satoshi and base increment of a real product
# is one, and rounding to one is a single ``Decimal.quantize``, several times cheaper than the
# division the general grid needs; this runs several times per order. Equal increments
# share an entry, which is right: they are the same grid.
_TENS: dict[Decimal, Decimal | None] = {}


def power_of_ten(increment: Decimal) -> Decimal | None:
    """``increment`` as a power-of-ten quantum (``Decimal.quantize``'s argument), or None."""
    try:
        return _TENS[increment]
    except KeyError:
        pass
    normal = increment.normalize() if increment.is_finite() and increment > 0 else None
    tens = normal if normal is not None and normal.as_tuple().digits == (1,) else None
    if len(_TENS) < 4096:  # increments are few; never let odd inputs grow it unbounded
        _TENS[increment] = tens
    return tens


def quantize(value: Decimal, increment: Decimal) -> Decimal:
    """``value`` on the ``increment`` grid, half-even, with the increment's exponent."""
    tens = power_of_ten(increment)
    if tens is not None:
        return value.quantize(tens, ROUND_HALF_EVEN).quantize(increment)
    if increment <= 0:
        return value
    steps = (value / increment).to_integral_value(rounding=ROUND_HALF_EVEN)
    return (steps * increment).quantize(increment)


def fee_amount(notional: Decimal, rate: Decimal, increment: Decimal) -> Decimal:
    """A venue's fee on ``notional``: rounded up to the quote increment (never undercharged)."""
    tens = power_of_ten(increment)
    if tens is not None:
        return (abs(notional) * rate).quantize(tens, ROUND_CEILING).quantize(increment)
    steps = (abs(notional) * rate / increment).to_integral_value(rounding=ROUND_CEILING)
    return (steps * increment).quantize(increment)


def text(value: Decimal) -> str:
    """A quantised Decimal as plain digits (never an exponent, never ``-0``)."""
    out = format(value, "f")
    if out.startswith("-") and not out.strip("-0."):
        return out[1:]
    return out


def amount(value: Decimal, currency: str) -> str:
    """Cash, a fee or P&L in ``currency`` as reported: ``-436.79``."""
    return text(quantize(value, currency_increment(currency)))


def at(value: Decimal, increment: Decimal) -> str:
    """A price or size on its product increment as reported: ``101149.03``."""
    return text(quantize(value, increment))
