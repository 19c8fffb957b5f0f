"""Rounding of money and sizes: the power-of-ten shortcut gives exactly what the grid
formula gives (value and exponent), for any value and any increment."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from gpt_trader.domain import Product
from gpt_trader.domain.money import fee_amount, power_of_ten, quantize
from hypothesis import given
from hypothesis import strategies as st

INCREMENTS = [
    Decimal(s)
    for s in ("0.01", "0.010", "1", "1E+1", "10", "0.00000001", "1E-8", "0.25", "0.5", "5", "0.03")
]
values = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=12, allow_nan=False
)
increments = st.sampled_from(INCREMENTS)


def on_grid(value: Decimal, increment: Decimal, rounding: str) -> Decimal:
    """The general rule: whole increments, rounded as asked, with the increment's exponent."""
    steps = (value / increment).to_integral_value(rounding=rounding)
    return (steps * increment).quantize(increment)


def same(a: Decimal, b: Decimal) -> bool:
    return a.as_tuple() == b.as_tuple()


def test_power_of_ten_names_the_grid_or_none() -> None:
    assert power_of_ten(Decimal("0.010")) == Decimal("0.01")
    assert power_of_ten(Decimal("1E+3")) == Decimal(1000)
    assert power_of_ten(Decimal("0.25")) is None
    assert power_of_ten(Decimal(0)) is None
    assert power_of_ten(Decimal(-1)) is None


@given(values, increments)
def test_quantize_is_half_even_on_the_grid(value: Decimal, increment: Decimal) -> None:
    assert same(quantize(value, increment), on_grid(value, increment, ROUND_HALF_EVEN))


@given(values, st.sampled_from([Decimal("0.006"), Decimal("0.0004"), Decimal(0)]), increments)
def test_a_fee_is_rounded_up_on_the_grid(value: Decimal, rate: Decimal, inc: Decimal) -> None:
    assert same(fee_amount(value, rate, inc), on_grid(abs(value) * rate, inc, ROUND_CEILING))


@given(values, increments)
def test_a_size_rounds_toward_zero_on_the_grid(value: Decimal, increment: Decimal) -> None:
    p = Product("X-USD", "X", "USD", increment, Decimal("0.01"), increment, Decimal(10**13))
    assert same(p.quantize_size(value), on_grid(value, increment, ROUND_DOWN))
    assert (p.size_error(abs(value)) is None) == (
        abs(value) >= increment and on_grid(abs(value), increment, ROUND_DOWN) == abs(value)
    )
