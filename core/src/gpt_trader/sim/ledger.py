"""Balances of the simulated account: total and hold per currency, holds per order.

``available = total - hold``. The exchange places a hold when an order is accepted (quote
currency for a buy, including the estimated taker fee; base currency for a sell), takes
each fill's cost out of that order's hold first, and releases what is left when the order
ends. The ledger adds and subtracts what it is given, never rounding; the exchange gives it
amounts on the currency's increment, so cash stays on cents (for USD) after any number of
fills, and within half a cent of books kept exactly:

- traded value (``price * size``, times the contract size): the exchange keeps each
  currency's running total of it exact (sales in, purchases out), and a fill moves the
  cash by what that total moved once rounded half-even (:func:`settled_move`). So the cash
  is the exact books rounded, never drifting from them however many fills; a fill's
  settled value is within a cent of its exact one;
- fees are rounded up (:func:`gpt_trader.domain.money.fee_amount`): a venue never
  undercharges;
- a buy's hold is its value rounded half-even plus its fee.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from gpt_trader.domain import Balance
from gpt_trader.domain.money import currency_increment, quantize
from gpt_trader.sim.state import need_dec

ZERO = Decimal(0)


def settled_move(flow: Decimal, notional: Decimal, currency: str) -> Decimal:
    """The cash a trade moves before its fee: ``notional`` signed (+ received, - paid) on
    top of ``flow``, the currency's exact running total of traded value, both settled
    rounded half-even to ``currency``'s increment."""
    inc = currency_increment(currency)
    return quantize(flow + notional, inc) - quantize(flow, inc)


def ceil_to(amount: Decimal, increment: Decimal) -> Decimal:
    """``amount`` rounded up to a multiple of ``increment`` (holds cover what they hold for)."""
    steps = (amount / increment).to_integral_value(rounding=ROUND_CEILING)
    return (steps * increment).quantize(increment)


class Ledger:
    """Per-currency totals and per-order holds (keyed by client_order_id)."""

    def __init__(self, balances: Mapping[str, Decimal] | None = None) -> None:
        self._total: dict[str, Decimal] = {}
        self._hold: dict[str, Decimal] = {}
        self._order_holds: dict[str, tuple[str, Decimal]] = {}
        for currency, amount in (balances or {}).items():
            if amount < 0:
                raise ValueError(f"starting balance of {currency} must not be negative")
            self._total[currency] = Decimal(amount)

    def total(self, currency: str) -> Decimal:
        return self._total.get(currency, ZERO)

    def hold(self, currency: str) -> Decimal:
        return self._hold.get(currency, ZERO)

    def available(self, currency: str) -> Decimal:
        return self.total(currency) - self.hold(currency)

    def credit(self, currency: str, amount: Decimal) -> None:
        self._total[currency] = self.total(currency) + amount

    def debit(self, currency: str, amount: Decimal) -> None:
        self._total[currency] = self.total(currency) - amount

    def order_hold(self, key: str) -> Decimal:
        held = self._order_holds.get(key)
        return ZERO if held is None else held[1]

    def place_hold(self, key: str, currency: str, amount: Decimal) -> None:
        """Hold ``amount`` of ``currency`` for order ``key`` (replacing any previous hold)."""
        self.release(key)
        if amount > 0:
            self._order_holds[key] = (currency, amount)
            self._hold[currency] = self.hold(currency) + amount

    def release(self, key: str, amount: Decimal | None = None) -> Decimal:
        """Release ``amount`` (all when None, never more than held) of order ``key``'s hold."""
        held = self._order_holds.get(key)
        if held is None:
            return ZERO
        currency, left = held
        freed = left if amount is None else min(amount, left)
        self._hold[currency] = self.hold(currency) - freed
        if left - freed > 0:
            self._order_holds[key] = (currency, left - freed)
        else:
            del self._order_holds[key]
        return freed

    def currencies(self) -> list[str]:
        return sorted(set(self._total) | set(self._hold))

    def balances(self) -> list[Balance]:
        return [Balance(c, self.total(c), self.available(c)) for c in self.currencies()]

    def to_state(self) -> dict[str, Any]:
        return {
            "total": {c: str(v) for c, v in self._total.items()},
            "holds": {k: [c, str(v)] for k, (c, v) in self._order_holds.items()},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._total = {str(c): need_dec(v) for c, v in state["total"].items()}
        self._order_holds = {str(k): (str(c), need_dec(v)) for k, (c, v) in state["holds"].items()}
        self._hold = {}
        for currency, amount in self._order_holds.values():
            self._hold[currency] = self.hold(currency) + amount
