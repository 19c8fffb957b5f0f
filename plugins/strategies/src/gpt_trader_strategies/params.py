"""Settings models of the signals, kept free of numpy so registering the plugin is cheap."""

from __future__ import annotations

from typing import Self

from gpt_trader.params import Params
from pydantic import Field, model_validator

__all__ = [
    "AdxParams",
    "AtrChannelParams",
    "BollingerParams",
    "DonchianParams",
    "EmaCrossParams",
    "MacdCrossParams",
    "RsiReversionParams",
    "SmaCrossParams",
    "StochasticParams",
    "VwapParams",
    "ZScoreParams",
]


def _name_field() -> str | None:
    return Field(
        None,
        min_length=1,
        description="name this signal votes under (defaults to the registered name)",
    )


# --------------------------------------------------------------------------------------
# Params
# --------------------------------------------------------------------------------------


def _full_bps_field() -> float:
    return Field(
        10.0,
        gt=0,
        le=10_000,
        description="gap between the lines at the cross, in bps of the close, "
        "at which the strength reaches 1",
    )


class _FastSlowParams(Params):
    fast: int = Field(10, gt=0, description="fast moving-average period, in bars")
    slow: int = Field(30, gt=0, description="slow moving-average period, in bars")
    full_bps: float = _full_bps_field()
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


class _Levels(Params):
    """An oscillator's ``oversold`` below its ``overbought``: the subclass declares both
    (here they would come first in its settings)."""

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold ({self.oversold}) must be less than overbought ({self.overbought})"
            )
        return self


class RsiReversionParams(_Levels):
    """``rsi``: Wilder RSI ``period`` and the ``oversold`` / ``overbought`` levels."""

    period: int = Field(14, gt=0, description="RSI period, in bars")
    oversold: float = Field(30.0, ge=0, le=100, description="go LONG crossing up through this")
    overbought: float = Field(70.0, ge=0, le=100, description="go FLAT crossing down through this")
    name: str | None = _name_field()


class MacdCrossParams(_FastSlowParams):
    """``macd_cross``: ``fast`` (12), ``slow`` (26) and ``signal`` (9) EMA periods."""

    fast: int = Field(12, gt=0, description="fast EMA period, in bars")
    slow: int = Field(26, gt=0, description="slow EMA period, in bars")
    signal: int = Field(9, gt=0, description="signal-line EMA period, in bars")


class BollingerParams(Params):
    """``bollinger``: SMA ``period`` and band width ``k`` in standard deviations."""

    period: int = Field(20, ge=2, le=10_000, description="window of the mean and deviation")
    k: float = Field(2.0, gt=0, le=10, description="band half-width, in standard deviations")
    name: str | None = _name_field()


class DonchianParams(Params):
    """``donchian``: entry channel ``period`` (highs) and exit channel ``exit_period`` (lows)."""

    period: int = Field(
        20, gt=0, le=10_000, description="bars whose highest high a close must beat"
    )
    exit_period: int = Field(
        10, gt=0, le=10_000, description="bars whose lowest low a close below exits"
    )
    name: str | None = _name_field()


class AtrChannelParams(Params):
    """``atr_channel``: EMA ``period``, ATR ``atr_period`` and the band width ``mult``."""

    period: int = Field(20, gt=0, le=10_000, description="EMA period of the channel's middle")
    atr_period: int = Field(14, gt=0, le=10_000, description="ATR period, in bars")
    mult: float = Field(2.0, gt=0, le=20, description="upper band = EMA + mult * ATR")
    name: str | None = _name_field()


class VwapParams(Params):
    """``vwap``: rolling VWAP ``period`` and the deviation ``entry_bps`` below it to buy."""

    period: int = Field(20, gt=0, le=10_000, description="bars in the rolling VWAP")
    entry_bps: float = Field(
        50.0, gt=0, le=5_000, description="go LONG when the close is this far below VWAP (bps)"
    )
    name: str | None = _name_field()


class StochasticParams(_Levels):
    """``stochastic``: %K ``k_period``, %D ``d_period``, ``oversold`` / ``overbought``."""

    k_period: int = Field(14, gt=0, le=10_000, description="%K lookback, in bars")
    d_period: int = Field(3, gt=0, le=1_000, description="%D (SMA of %K) period, in bars")
    oversold: float = Field(20.0, ge=0, le=100, description="LONG on a %K up-cross below this")
    overbought: float = Field(80.0, ge=0, le=100, description="FLAT on a %K down-cross above this")
    name: str | None = _name_field()


class AdxParams(Params):
    """``adx``: Wilder ``period`` and the ADX ``threshold`` of a trend."""

    period: int = Field(14, ge=2, le=1_000, description="ADX / DI period, in bars")
    threshold: float = Field(25.0, gt=0, lt=100, description="ADX above this is a trend")
    name: str | None = _name_field()


class ZScoreParams(Params):
    """``zscore``: window ``period``; LONG below ``-entry``, FLAT above ``exit``."""

    period: int = Field(20, ge=2, le=10_000, description="window of the mean and deviation")
    entry: float = Field(2.0, gt=0, le=10, description="go LONG when z < -entry")
    exit: float = Field(0.0, ge=-10, le=10, description="go FLAT when z > exit")
    name: str | None = _name_field()

    @model_validator(mode="after")
    def _exit_above_entry(self) -> Self:
        if self.exit <= -self.entry:
            raise ValueError(f"exit ({self.exit}) must be above -entry ({-self.entry})")
        return self
