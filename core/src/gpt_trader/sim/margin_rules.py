"""Margin maths of one derivative position: which rates apply, initial and maintenance
margin, the part of an order that opens exposure, and the liquidation price.

Pure functions of a product's :class:`~gpt_trader.domain.DerivativeTerms`, a position and a
mark; :class:`~gpt_trader.sim.margin.DerivativesLedger` sums them over a pool. Exact
Decimals, never rounded (the ledger rounds what moves cash).

* initial margin (IM) = ``|size| * contract_size * mark * im_rate`` with ``im_rate =
  max(product rate, 1 / leverage)``; the product rate is the intraday one when the account
  opted in to intraday margin and the product's schedule is in its intraday window, else
  the overnight one; the long or short rate by the position's side.
* maintenance margin (MM) = ``|size| * contract_size * mark * product rate *
  maintenance_fraction``: leverage below the maximum commits more margin but does not move
  the maintenance level.
* liquidation price: solves ``equity(p) = maintenance(p)`` with every other price fixed,
  ``p = (entry * n - E) / (n - |n| * mmr)``, ``n = size * contract_size``, ``E`` the
  margin that backs the position; rounded to the tick against the holder.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import NamedTuple

from gpt_trader.domain import DerivativeTerms, MarginRates, Position, Side
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window

ZERO = Decimal(0)
ONE = Decimal(1)
NS = 1_000_000_000


class Measure(NamedTuple):
    """One position at the mark: notional, unrealised P&L, initial and maintenance margin."""

    notional: Decimal
    unrealized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal


FLAT = Measure(ZERO, ZERO, ZERO, ZERO)


def sign(x: Decimal) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def rates_in_force(terms: DerivativeTerms, ts: int, *, intraday_margin: bool) -> MarginRates:
    """The intraday rates when the account opted in and the product is in its intraday
    window at ``ts``; else the overnight ones."""
    schedule = terms.schedule
    if (
        intraday_margin
        and schedule is not None
        and margin_window(ts, schedule) is MarginWindow.INTRADAY
    ):
        return terms.intraday
    return terms.overnight


def im_rate(base: Decimal, leverage: Decimal | None) -> Decimal:
    return base if leverage is None or leverage <= 0 else max(base, ONE / leverage)


def effective_leverage(terms: DerivativeTerms, leverage: Decimal | None) -> Decimal | None:
    return leverage if leverage is not None else terms.default_leverage


def measure(
    position: Position,
    terms: DerivativeTerms,
    mark: Decimal,
    rates: MarginRates,
    leverage: Decimal | None,
) -> Measure:
    if position.size == 0:
        return FLAT
    n = position.size * position.contract_size
    notional = abs(n) * mark
    base = rates.for_sign(sign(position.size))
    im = notional * im_rate(base, effective_leverage(terms, leverage))
    return Measure(
        notional,
        (mark - position.avg_entry_price) * n,
        im,
        notional * base * terms.maintenance_fraction,
    )


def opening(position: Decimal, side: Side, size: Decimal) -> Decimal:
    """The part of an order of ``size`` on ``side`` that opens or grows a position."""
    if position == 0 or (position > 0) == (side is Side.BUY):
        return size
    return max(ZERO, size - abs(position))


def liquidation_price(
    position: Position,
    terms: DerivativeTerms,
    rates: MarginRates,
    backing: Decimal,
    price_increment: Decimal,
) -> Decimal | None:
    """Where ``position`` would be liquidated when ``backing`` (its isolated margin, or
    for a cross position the pool's cash plus the other positions' unrealised P&L less
    their maintenance) is what stands behind it; None when flat or out of reach."""
    if position.size == 0:
        return None
    n = position.size * position.contract_size
    mmr = rates.for_sign(sign(position.size)) * terms.maintenance_fraction
    denom = n - abs(n) * mmr
    if denom == 0:
        return None
    price = (position.avg_entry_price * n - backing) / denom
    if price <= 0:
        return None
    inc = price_increment
    rounding = ROUND_CEILING if position.size > 0 else ROUND_FLOOR
    return ((price / inc).to_integral_value(rounding=rounding) * inc).quantize(inc)


def next_boundary(ts: int, interval_s: int) -> int:
    """The first multiple of ``interval_s`` (since the epoch) strictly after ``ts``."""
    step = interval_s * NS
    return (ts // step + 1) * step
