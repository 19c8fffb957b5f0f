"""Settings shared by the derivative broker components (the spot ones plus the risk loop)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from gpt_trader_coinbase.spot.params import SpotBrokerParams


class DerivativesBrokerParams(SpotBrokerParams):
    """``risk_interval_s``: how often positions (liquidation price, margin) are read."""

    risk_interval_s: float = Field(default=2.0, gt=0)


class CfmBrokerParams(DerivativesBrokerParams):
    """``sweep_floor``: USD the CFM pool keeps above its initial margin (pending sweeps that
    would cut into it are cancelled); ``sweep_excess_above``: sweep the excess over margin +
    floor to spot once it is larger than this (None: never sweep by itself)."""

    sweep_floor: Decimal | None = Field(default=None, ge=0)
    sweep_excess_above: Decimal | None = Field(default=None, gt=0)


class IntxBrokerParams(DerivativesBrokerParams):
    quote_currency: str = "USDC"
