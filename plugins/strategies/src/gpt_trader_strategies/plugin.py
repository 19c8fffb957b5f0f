"""Entry point ``strategies``: registers this distribution's signals, voters and filters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind, load
from gpt_trader.hookspecs import hookimpl

if TYPE_CHECKING:
    # Each module loads when a profile builds one of its components, not at discovery (the
    # signals import numpy).
    from gpt_trader_strategies.params import (
        EmaCrossParams,
        MacdCrossParams,
        RsiReversionParams,
        SmaCrossParams,
    )
    from gpt_trader_strategies.signals import EmaCross, MacdCross, RsiReversion, SmaCross


def _here(ref: str) -> str:
    """``"module:Name"`` of this package, as a component's settings model is named."""
    return f"gpt_trader_strategies.{ref}"


def _symbol(ctx: BuildContext, name: str) -> str:
    if not ctx.symbol:
        raise ValueError(f"signal {name!r} is per-symbol: build it with ctx.symbol set")
    return ctx.symbol


def _sma_cross(params: SmaCrossParams, ctx: BuildContext) -> SmaCross:
    from gpt_trader_strategies.signals import SmaCross

    return SmaCross.from_params(params, _symbol(ctx, "sma_cross"))


def _ema_cross(params: EmaCrossParams, ctx: BuildContext) -> EmaCross:
    from gpt_trader_strategies.signals import EmaCross

    return EmaCross.from_params(params, _symbol(ctx, "ema_cross"))


def _rsi(params: RsiReversionParams, ctx: BuildContext) -> RsiReversion:
    from gpt_trader_strategies.signals import RsiReversion

    return RsiReversion.from_params(params, _symbol(ctx, "rsi"))


def _macd_cross(params: MacdCrossParams, ctx: BuildContext) -> MacdCross:
    from gpt_trader_strategies.signals import MacdCross

    return MacdCross.from_params(params, _symbol(ctx, "macd_cross"))


def _lazy(name: str, module: str, cls: str) -> Callable[[Any, BuildContext], Any]:
    """A factory importing ``module`` (which loads numpy) only when a profile builds one."""

    def build(params: Any, ctx: BuildContext) -> Any:
        return load(_here(f"{module}:{cls}")).from_params(params, _symbol(ctx, name))

    return build


# name, settings model (in params, or the signal's module), module, class, summary
_BAR_SIGNALS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "bollinger",
        "params:BollingerParams",
        "channels",
        "Bollinger",
        "Bollinger breakout: LONG above mean + k std of closes, FLAT below the mean",
    ),
    (
        "donchian",
        "params:DonchianParams",
        "channels",
        "Donchian",
        "Donchian breakout: LONG above the prior highest high, FLAT below the prior lowest low",
    ),
    (
        "atr_channel",
        "params:AtrChannelParams",
        "channels",
        "AtrChannel",
        "ATR (Keltner) channel: LONG above EMA + mult ATR, FLAT below the EMA",
    ),
    (
        "vwap",
        "params:VwapParams",
        "channels",
        "VwapReversion",
        "VWAP reversion: LONG entry_bps below the rolling VWAP, FLAT back at it",
    ),
    (
        "zscore",
        "params:ZScoreParams",
        "channels",
        "ZScore",
        "z-score reversion: LONG when (close - mean) / std < -entry, FLAT above exit",
    ),
    (
        "stochastic",
        "params:StochasticParams",
        "oscillators",
        "StochasticCross",
        "stochastic: LONG on a %K up-cross of %D when oversold, FLAT on a down-cross overbought",
    ),
    (
        "rule",
        "rules:RuleParams",
        "rules",
        "Rule",
        "declarative: LONG when the `long` condition holds, FLAT when `flat` does",
    ),
    (
        "adx",
        "params:AdxParams",
        "oscillators",
        "AdxTrend",
        "ADX trend: LONG while ADX > threshold with +DI over -DI, FLAT otherwise",
    ),
)


def _new(ref: str) -> Callable[[Any, BuildContext], Any]:
    """A factory of the parameterless class ``ref``, imported when one is built."""

    def build(params: Any, ctx: BuildContext) -> Any:
        return load(_here(ref))()

    return build


def _from_params(ref: str) -> Callable[[Any, BuildContext], Any]:
    """A factory calling ``from_params`` of the class ``ref``, imported when one is built."""

    def build(params: Any, ctx: BuildContext) -> Any:
        return load(_here(ref)).from_params(params)

    return build


# name, class (in market_filters), summary
_MARKET_FILTERS: tuple[tuple[str, str, str], ...] = (
    ("volume", "VolumeFilter", "allow entries only on a bar with enough (relative) volume"),
    ("momentum", "MomentumFilter", "allow entries only when the change over N bars agrees"),
    ("trend", "TrendFilter", "allow LONG only above a long SMA (SHORT below), optional ADX"),
    ("volatility", "VolatilityFilter", "allow entries only while ATR / close is in a band"),
    ("spread", "SpreadFilter", "allow entries only while the book spread (or bar range) is tight"),
)


@hookimpl
def register_signals() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "sma_cross",
        Kind.SIGNAL,
        _sma_cross,
        _here("params:SmaCrossParams"),
        summary="LONG when the fast SMA of closes crosses above the slow SMA, FLAT below",
        per_symbol=True,
    )
    yield ComponentSpec(
        "ema_cross",
        Kind.SIGNAL,
        _ema_cross,
        _here("params:EmaCrossParams"),
        summary="LONG when the fast EMA of closes crosses above the slow EMA, FLAT below",
        per_symbol=True,
    )
    yield ComponentSpec(
        "rsi",
        Kind.SIGNAL,
        _rsi,
        _here("params:RsiReversionParams"),
        summary="RSI reversion: LONG crossing up through oversold, FLAT down through overbought",
        per_symbol=True,
    )
    yield ComponentSpec(
        "macd_cross",
        Kind.SIGNAL,
        _macd_cross,
        _here("params:MacdCrossParams"),
        summary="LONG when the MACD line crosses above its signal line, FLAT below",
        per_symbol=True,
    )
    for name, params, module, cls, summary in _BAR_SIGNALS:
        yield ComponentSpec(
            name,
            Kind.SIGNAL,
            _lazy(name, module, cls),
            _here(params),
            summary=summary,
            per_symbol=True,
        )


@hookimpl
def register_voters() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "majority",
        Kind.VOTER,
        _new("voters:Majority"),
        summary="the action with the most votes; a tie is FLAT",
    )
    yield ComponentSpec(
        "unanimous",
        Kind.VOTER,
        _new("voters:Unanimous"),
        summary="an action only when every signal agrees, else FLAT",
    )
    yield ComponentSpec(
        "weighted",
        Kind.VOTER,
        _from_params("voters:Weighted"),
        _here("voters:WeightedParams"),
        summary="weighted sum of votes by signal name against a threshold",
    )
    yield ComponentSpec(
        "confidence",
        Kind.VOTER,
        _from_params("voters:ConfidenceWeighted"),
        _here("voters:ConfidenceWeightedParams"),
        summary="votes weighted by each signal's strength against a threshold",
    )


@hookimpl
def register_filters() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "hours",
        Kind.FILTER,
        _from_params("filters:HoursFilter"),
        _here("filters:HoursParams"),
        summary="allow entries only within UTC hours [start, end) on given weekdays",
    )
    yield ComponentSpec(
        "min_confidence",
        Kind.FILTER,
        _from_params("filters:MinConfidence"),
        _here("filters:MinConfidenceParams"),
        summary="allow entries only when the decision's confidence reaches a minimum",
    )
    for name, cls, summary in _MARKET_FILTERS:
        yield ComponentSpec(
            name,
            Kind.FILTER,
            _from_params(f"market_filters:{cls}"),
            _here(f"market_filters:{cls.removesuffix('Filter')}Params"),
            summary=summary,
        )
