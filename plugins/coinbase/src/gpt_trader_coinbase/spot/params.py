"""Settings of ``coinbase.spot`` and ``coinbase.market`` (and, through them, of the
derivative brokers): loaded when a profile validates or builds one, not when plugins are
listed."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from gpt_trader.params import Params
from pydantic import Field, model_validator

Channel = Literal["ticker", "level2", "market_trades", "candles"]
DEFAULT_CHANNELS: tuple[Channel, ...] = ("ticker", "level2", "market_trades")


class TargetParams(Params):
    """Where to connect: production (default), a simulator (``sim = true``: the one
    ``$GPT_TRADER_COINBASE_SIM`` names, else one started in-process; ``sim_json = "<path>"``),
    or ``sim = "auto"``: the simulator if ``$GPT_TRADER_COINBASE_SIM`` is set, else production."""

    sim: bool | Literal["auto"] = False
    sim_json: str | None = None
    key_file: str | None = None
    sim_tick_s: float = Field(default=1.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _one_target(self) -> TargetParams:
        if self.sim is True and self.sim_json:
            raise ValueError("give sim = true or sim_json, not both")
        return self


class SpotBrokerParams(TargetParams):
    """Settings of ``coinbase.spot``. ``reserve`` is base currency the bot must never count
    as its position (held for other purposes), e.g. ``reserve = {BTC = "0.5"}``."""

    reserve: dict[str, Decimal] = Field(default_factory=dict)
    quote_currency: str = "USD"
    reconcile_interval_s: float = Field(default=15.0, gt=0)
    fills_window_s: float = Field(default=120.0, gt=0)
    user_silence_s: float = Field(default=10.0, gt=0)
    submit_timeout_s: float = Field(default=5.0, gt=0)
    ambiguous_grace_s: float = Field(default=10.0, ge=0)
    private_rate: float = Field(default=30.0, gt=0)


class MarketFeedParams(TargetParams):
    """Settings of ``coinbase.market``; ``bar_seconds`` builds bars of that length from
    trades (Coinbase streams 5-minute candles only). Market data follows
    ``$GPT_TRADER_COINBASE_SIM`` unless told otherwise (``sim = "auto"``)."""

    sim: bool | Literal["auto"] = "auto"
    channels: list[Channel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    bar_seconds: int | None = Field(default=None, gt=0)
    stale_after_s: float = Field(default=30.0, gt=0)
    silence_s: float = Field(default=10.0, gt=0)
    book_depth: int = Field(default=50, gt=0, le=1000)
    public_rate: float = Field(default=10.0, gt=0)
