"""Positions and balances, with P&L derived from fills (average-cost method)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gpt_trader.domain.orders import Fill, Side

ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    """A net position. ``size`` is signed: positive long, negative short.

    Realised P&L uses average cost: a fill that reduces the position realises
    ``(fill price - average entry) * reduced size`` (sign-adjusted for shorts).
    Fees are tracked apart from realised P&L so both can be reported.
    """

    symbol: str
    size: Decimal = ZERO
    avg_entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    mark_price: Decimal = ZERO
    contract_size: Decimal = Decimal(1)
    # The venue's risk figures for a derivative position (None/0 for spot or when unknown);
    # the kernel takes them from the broker and never derives size from them.
    liquidation_price: Decimal | None = None
    leverage: Decimal | None = None
    initial_margin: Decimal = ZERO

    @property
    def is_flat(self) -> bool:
        return self.size == 0

    @property
    def unrealized_pnl(self) -> Decimal:
        if self.size == 0 or self.mark_price == 0:
            return ZERO
        return (self.mark_price - self.avg_entry_price) * self.size * self.contract_size

    @property
    def liquidation_distance(self) -> Decimal | None:
        """How far the mark is from liquidation, as a fraction of the mark (None if unknown)."""
        if self.size == 0 or self.liquidation_price is None or self.mark_price <= 0:
            return None
        if self.liquidation_price <= 0:
            return None
        gap = self.mark_price - self.liquidation_price
        return (gap if self.size > 0 else -gap) / self.mark_price

    @property
    def net_pnl(self) -> Decimal:
        """Realised + unrealised + funding - fees."""
        return self.realized_pnl + self.unrealized_pnl + self.funding - self.fees

    def notional(self) -> Decimal:
        return abs(self.size) * self.mark_price * self.contract_size

    def _add(self, signed: Decimal, price: Decimal) -> None:
        new_size = self.size + signed
        self.avg_entry_price = (self.avg_entry_price * abs(self.size) + price * abs(signed)) / abs(
            new_size
        )
        self.size = new_size

    def adjust(self, adjustment: InventoryAdjustment) -> None:
        """Apply an inventory adjustment: adopted holdings average in at their cost; a
        shrink takes units away at the average cost (no P&L: nothing was traded)."""
        if adjustment.size > 0:
            self._add(adjustment.size, adjustment.price)
        elif adjustment.size < 0 and self.size > 0:
            self.size = max(self.size + adjustment.size, ZERO)
            if self.size == 0:
                self.avg_entry_price = ZERO

    def apply(self, fill: Fill) -> Decimal:
        """Apply a fill; returns the P&L it realised (before fees)."""
        signed = fill.size if fill.side is Side.BUY else -fill.size
        self.fees += fill.fee
        realized = ZERO
        if self.size == 0 or (self.size > 0) == (signed > 0):
            self._add(signed, fill.price)
        else:
            closing = min(abs(signed), abs(self.size))
            direction = 1 if self.size > 0 else -1
            realized = (
                (fill.price - self.avg_entry_price) * closing * direction * self.contract_size
            )
            self.realized_pnl += realized
            new_size = self.size + signed
            if new_size == 0:
                self.avg_entry_price = ZERO
            elif (new_size > 0) != (self.size > 0):
                self.avg_entry_price = fill.price  # flipped: the remainder opened at this price
            self.size = new_size
        if self.mark_price == 0:
            self.mark_price = fill.price
        return realized


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    total: Decimal
    available: Decimal

    @property
    def hold(self) -> Decimal:
        return self.total - self.available


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding exchange on one position. ``amount`` is signed from the account's side:
    negative = paid, positive = received. ``size`` is the signed position in contracts."""

    payment_id: str
    symbol: str
    ts: int
    rate: Decimal
    mark_price: Decimal
    size: Decimal
    contract_size: Decimal
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class InventoryAdjustment:
    """A change to the bot's spot inventory that is not one of its fills, recorded so a
    restart rebuilds the same inventory (fills and adjustments, in time order).

    ``kind`` is ``adopted`` (the user gave the bot holdings it did not buy, at a cost basis
    ``price`` per unit; ``size`` > 0) or ``shrunk`` (the account holds less than the bot's
    inventory: the user sold or withdrew coins; ``size`` < 0, ``price`` the average cost
    the units left at).
    """

    ts: int
    symbol: str
    kind: str
    size: Decimal
    price: Decimal
    reason: str = ""
