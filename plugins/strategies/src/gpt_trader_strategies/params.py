"""Settings models of the signals, kept free of numpy so registering the plugin is cheap."""

from __future__ import annotations

from typing import Self

from gpt_trader.components import Params
from pydantic import Field, model_validator

__all__ = ["EmaCrossParams", "MacdCrossParams", "RsiReversionParams", "SmaCrossParams"]


def _name_field() -> str | None:
    return Field(
        None,
        min_length=1,
        description="name this signal votes under (defaults to the registered name)",
    )


# --------------------------------------------------------------------------------------
# Params
# --------------------------------------------------------------------------------------


class _FastSlowParams(Params):
    fast: int = Field(10, gt=0, description="fast moving-average period, in bars")
    slow: int = Field(30, gt=0, description="slow moving-average period, in bars")
    name: str | None = _name_field()

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be less than slow ({self.slow})")
        return self


class SmaCrossParams(_FastSlowParams):
    """``sma_cross``: ``fast`` (default 10) and ``slow`` (default 30) SMA periods."""


class EmaCrossParams(_FastSlowParams):
    """``ema_cross``: ``fast`` (default 12) and ``slow`` (default 26) EMA periods."""

    fast: int = Field(12, gt=0, description="fast EMA period, in bars")
    slow: int = Field(26, gt=0, description="slow EMA period, in bars")


class RsiReversionParams(Params):
    """``rsi``: Wilder RSI ``period`` and the ``oversold`` / ``overbought`` levels."""

    period: int = Field(14, gt=0, description="RSI period, in bars")
    oversold: float = Field(30.0, ge=0, le=100, description="go LONG crossing up through this")
    overbought: float = Field(70.0, ge=0, le=100, description="go FLAT crossing down through this")
    name: str | None = _name_field()

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold ({self.oversold}) must be less than overbought ({self.overbought})"
            )
        return self


class MacdCrossParams(_FastSlowParams):
    """``macd_cross``: ``fast`` (12), ``slow`` (26) and ``signal`` (9) EMA periods."""

    fast: int = Field(12, gt=0, description="fast EMA period, in bars")
    slow: int = Field(26, gt=0, description="slow EMA period, in bars")
    signal: int = Field(9, gt=0, description="signal-line EMA period, in bars")
