"""What the derivatives ledger keeps, reports and is configured with: settlement and
liquidation records, venue closes, a position's margin-side state, an accepted order's
terms, the position view, the pools' starting cash."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from gpt_trader.domain import Fill, FundingPayment, MarginType, Position, Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Settlement:
    """The cash settlement of a position at expiry (``size`` = signed contracts closed)."""

    settlement_id: str
    symbol: str
    ts: int
    price: Decimal
    size: Decimal
    realized_pnl: Decimal
    currency: str
    trade_id: str


@dataclass(frozen=True, slots=True)
class LiquidationFill(Fill):
    """A fill of a venue liquidation order: a Fill, plus two flags saying so."""

    is_liquidation: bool = True
    order_type: str = "LIQUIDATION"

    @classmethod
    def of(cls, fill: Fill) -> LiquidationFill:
        return cls(**{f.name: getattr(fill, f.name) for f in dataclasses.fields(Fill)})


class DerivativesListener(Protocol):
    """Optional callbacks a BrokerListener may also have (looked up with getattr)."""

    def on_funding(self, payment: FundingPayment) -> None: ...
    def on_settlement(self, settlement: Settlement) -> None: ...


@dataclass(frozen=True, slots=True)
class DerivativesConfig:
    """Starting collateral and settings of the derivative accounts.

    ``pools``: starting cash per collateral pool (the names products give in
    ``DerivativeTerms.pool``), funded separately from the spot wallets. ``currencies``: the
    currency of a pool no product trades against yet (a product's pool is in its quote
    currency). ``maker_fee`` / ``taker_fee``: rates for derivative products (None = the
    exchange's). ``intraday_margin``: start opted in to intraday margin rates.
    """

    pools: Mapping[str, Decimal] = field(default_factory=dict)
    currencies: Mapping[str, str] = field(default_factory=dict)
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    intraday_margin: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    """A position the venue closes: liquidation or expiry settlement."""

    symbol: str
    side: Side
    size: Decimal
    price: Decimal


@dataclass(slots=True)
class PositionBook:
    """The margin-side state of one product's position."""

    position: Position
    margin_type: MarginType = MarginType.CROSS
    leverage: Decimal | None = None
    isolated_margin: Decimal = ZERO
    day: int = 0
    daily_realized: Decimal = ZERO


@dataclass(slots=True)
class OrderTerms:
    """What an accepted order asked for that the Order does not carry."""

    margin_type: MarginType | None
    leverage: Decimal | None
    reduce_only: bool
    price: Decimal


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position with everything the exchange knows about it at one time; ``account`` is
    the collateral pool it trades against."""

    symbol: str
    account: str
    currency: str
    size: Decimal
    contract_size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    daily_realized_pnl: Decimal
    funding: Decimal
    fees: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    liquidation_price: Decimal | None
    leverage: Decimal
    margin_type: MarginType
    isolated_margin: Decimal
    expiry_ts: int | None

    @property
    def side(self) -> str:
        return "LONG" if self.size > 0 else "SHORT" if self.size < 0 else "UNKNOWN"

    def as_position(self) -> Position:
        """The view as a domain Position (what a broker hands ``on_venue_position``); a flat
        view has no liquidation price, margin or leverage (0 means none)."""
        return Position(
            self.symbol,
            size=self.size,
            avg_entry_price=self.entry_price,
            realized_pnl=self.realized_pnl,
            fees=self.fees,
            funding=self.funding,
            mark_price=self.mark_price,
            contract_size=self.contract_size,
            liquidation_price=self.liquidation_price,
            leverage=self.leverage if self.leverage > 0 else None,
            initial_margin=self.initial_margin,
        )
