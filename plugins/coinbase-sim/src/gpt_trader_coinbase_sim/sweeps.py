"""CFM -> spot USD sweeps, a Coinbase rule the simulator adds to the core exchange.

At most one sweep is pending; it runs at the next 22:00 UTC and moves the requested amount
(or all, when none was given), capped by what the FCM pool can spare (its free cash and
available margin, down to the cent), into the spot USD wallet. :class:`Sweeps` is a
:class:`~gpt_trader.sim.Timer` of the exchange, so a due sweep runs in time order with
funding and expiry at the start of any call or market event that reaches its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from gpt_trader.domain.money import currency_increment
from gpt_trader.domain.products import quantize_down
from gpt_trader.sim import SimExchange
from gpt_trader.sim.state import dec, need_dec, undec

from gpt_trader_coinbase_sim.catalogue import FCM

ZERO = Decimal(0)
NS = 1_000_000_000
DAY_S = 86_400
SWEEP_HOUR_UTC = 22


class SweepStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    CANCELLED = "CANCELLED"


@dataclass(slots=True)
class Sweep:
    """A CFM -> spot USD sweep; ``amount`` None means "everything that can go"."""

    sweep_id: str
    amount: Decimal | None
    requested_ts: int
    scheduled_ts: int
    status: SweepStatus = SweepStatus.PENDING
    swept: Decimal = ZERO

    @property
    def sweep_all(self) -> bool:
        return self.amount is None


class Sweeps:
    """The account's sweeps (module docstring); ids are ``f"{id_prefix}-sweep-{n}"``."""

    def __init__(self, exchange: SimExchange, id_prefix: str = "sim") -> None:
        self._ex = exchange
        self._prefix = id_prefix
        self._sweeps: list[Sweep] = []
        self.version = 0
        """Bumped on every change (the exchange's own version moves when one runs)."""

    def pending(self) -> list[Sweep]:
        return [s for s in self._sweeps if s.status is SweepStatus.PENDING]

    def all(self) -> list[Sweep]:
        return list(self._sweeps)

    def schedule(self, amount: Decimal | None, ts: int) -> Sweep | None:
        """Queue a sweep for the next 22:00 UTC; None when one is pending."""
        self._ex.derivatives  # noqa: B018 -- ValueError when the venue trades no derivatives
        if amount is not None and amount <= 0:
            raise ValueError("sweep amount must be positive")
        self._ex.advance(ts)
        self.version += 1
        if self.pending():
            return None
        day = ts // NS // DAY_S * DAY_S
        at = (day + SWEEP_HOUR_UTC * 3600) * NS
        if at <= ts:
            at += DAY_S * NS
        sweep = Sweep(f"{self._prefix}-sweep-{len(self._sweeps) + 1}", amount, ts, at)
        self._sweeps.append(sweep)
        return sweep

    def cancel(self, ts: int) -> bool:
        self._ex.advance(ts)
        self.version += 1
        pending = self.pending()
        for s in pending:
            s.status = SweepStatus.CANCELLED
        return bool(pending)

    # -- the exchange's Timer ------------------------------------------------------------------

    def due(self, ts: int) -> tuple[int, str] | None:
        due = [(s.scheduled_ts, s.sweep_id) for s in self.pending() if s.scheduled_ts <= ts]
        return min(due) if due else None

    def fire(self, key: str, t: int) -> None:
        """Run a due sweep: the FCM pool pays what it can spare into spot USD."""
        sweep = next(s for s in self._sweeps if s.sweep_id == key)
        deriv = self._ex.derivatives
        can = deriv.withdrawable(FCM, t)
        cents = currency_increment(deriv.currency(FCM))
        asked = None if sweep.amount is None else quantize_down(sweep.amount, cents)
        amount = can if asked is None else min(asked, can)
        if amount > 0:
            self._ex.transfer_from_derivatives(FCM, amount, t)
        sweep.status = SweepStatus.PROCESSED
        sweep.swept = amount

    # -- persistence ----------------------------------------------------------------------------

    def to_state(self) -> list[dict[str, Any]]:
        return [
            {
                "sweep_id": s.sweep_id,
                "amount": dec(s.amount),
                "requested_ts": s.requested_ts,
                "scheduled_ts": s.scheduled_ts,
                "status": s.status.value,
                "swept": str(s.swept),
            }
            for s in self._sweeps
        ]

    def load_state(self, state: list[dict[str, Any]]) -> None:
        self._sweeps = [
            Sweep(
                str(s["sweep_id"]),
                undec(s.get("amount")),
                int(s["requested_ts"]),
                int(s["scheduled_ts"]),
                SweepStatus(s["status"]),
                need_dec(s["swept"]),
            )
            for s in state
        ]
        self.version += 1
