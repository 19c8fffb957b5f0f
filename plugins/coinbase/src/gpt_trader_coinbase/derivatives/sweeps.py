"""The CFM sweep rule: keep the futures pool above a floor over its initial margin.

Sweeps move USD from the CFM pool to spot (Coinbase processes them at its next sweep
window). A pending sweep that would take the pool below ``initial margin + floor`` is
cancelled (Coinbase keeps one pending sweep at a time, cancelled as a whole); with
``excess_above`` set, the excess over ``initial margin + floor`` is swept once it exceeds
that amount and nothing is pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader_coinbase.derivatives.convert import money_of

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SweepPlan:
    cancel: bool = False
    schedule: Decimal | None = None
    reason: str = ""


def _requested(sweep: Mapping[str, Any], balance: Decimal) -> Decimal:
    if sweep.get("should_sweep_all") in (True, "true"):
        return balance
    return money_of(sweep.get("requested_amount"), "requested_amount")


def plan_sweep(
    *,
    balance: Decimal,
    initial_margin: Decimal,
    pending: Sequence[Mapping[str, Any]],
    floor: Decimal,
    excess_above: Decimal | None,
) -> SweepPlan:
    """What to do about sweeps given the pool ``balance`` and its ``initial_margin``."""
    keep = initial_margin + floor
    live = [s for s in pending if str(s.get("status", "")) in ("PENDING", "PROCESSING", "")]
    asked = sum((_requested(s, balance) for s in live), ZERO)
    if live and balance - asked < keep:
        return SweepPlan(
            cancel=True,
            reason=f"it would leave {balance - asked:.2f} USD, below margin {initial_margin:.2f}"
            f" + floor {floor:.2f}",
        )
    if excess_above is not None and not live:
        excess = (balance - keep).quantize(CENT)
        if excess > excess_above:
            return SweepPlan(
                schedule=excess,
                reason=f"{excess} USD above margin {initial_margin:.2f} + floor {floor:.2f}",
            )
    return SweepPlan()
