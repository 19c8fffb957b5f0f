"""Entry point ``strategies``: registers this distribution's signals, voters and filters."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind, NoParams
from gpt_trader.hookspecs import hookimpl

from gpt_trader_strategies import market_filters
from gpt_trader_strategies.filters import (
    HoursFilter,
    HoursParams,
    MinConfidence,
    MinConfidenceParams,
)
from gpt_trader_strategies.params import (
    AdxParams,
    AtrChannelParams,
    BollingerParams,
    DonchianParams,
    EmaCrossParams,
    MacdCrossParams,
    RsiReversionParams,
    SmaCrossParams,
    StochasticParams,
    VwapParams,
    ZScoreParams,
)

if TYPE_CHECKING:
    # The signals import numpy; they load when a profile builds one, not at discovery.
    from gpt_trader_strategies.signals import EmaCross, MacdCross, RsiReversion, SmaCross
from gpt_trader_strategies.rules import RuleParams
from gpt_trader_strategies.voters import (
    ConfidenceWeighted,
    ConfidenceWeightedParams,
    Majority,
    Unanimous,
    Weighted,
    WeightedParams,
)


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
        signal = getattr(importlib.import_module(f"gpt_trader_strategies.{module}"), cls)
        return signal.from_params(params, _symbol(ctx, name))

    return build


# name, params, module, class, summary
_BAR_SIGNALS: tuple[tuple[str, type[Any], str, str, str], ...] = (
    (
        "bollinger",
        BollingerParams,
        "channels",
        "Bollinger",
        "Bollinger breakout: LONG above mean + k std of closes, FLAT below the mean",
    ),
    (
        "donchian",
        DonchianParams,
        "channels",
        "Donchian",
        "Donchian breakout: LONG above the prior highest high, FLAT below the prior lowest low",
    ),
    (
        "atr_channel",
        AtrChannelParams,
        "channels",
        "AtrChannel",
        "ATR (Keltner) channel: LONG above EMA + mult ATR, FLAT below the EMA",
    ),
    (
        "vwap",
        VwapParams,
        "channels",
        "VwapReversion",
        "VWAP reversion: LONG entry_bps below the rolling VWAP, FLAT back at it",
    ),
    (
        "zscore",
        ZScoreParams,
        "channels",
        "ZScore",
        "z-score reversion: LONG when (close - mean) / std < -entry, FLAT above exit",
    ),
    (
        "stochastic",
        StochasticParams,
        "oscillators",
        "StochasticCross",
        "stochastic: LONG on a %K up-cross of %D when oversold, FLAT on a down-cross overbought",
    ),
    (
        "rule",
        RuleParams,
        "rules",
        "Rule",
        "declarative: LONG when the `long` condition holds, FLAT when `flat` does",
    ),
    (
        "adx",
        AdxParams,
        "oscillators",
        "AdxTrend",
        "ADX trend: LONG while ADX > threshold with +DI over -DI, FLAT otherwise",
    ),
)


def _majority(params: NoParams, ctx: BuildContext) -> Majority:
    return Majority()


def _unanimous(params: NoParams, ctx: BuildContext) -> Unanimous:
    return Unanimous()


def _weighted(params: WeightedParams, ctx: BuildContext) -> Weighted:
    return Weighted.from_params(params)


def _confidence(params: ConfidenceWeightedParams, ctx: BuildContext) -> ConfidenceWeighted:
    return ConfidenceWeighted.from_params(params)


def _hours(params: HoursParams, ctx: BuildContext) -> HoursFilter:
    return HoursFilter.from_params(params)


def _min_confidence(params: MinConfidenceParams, ctx: BuildContext) -> MinConfidence:
    return MinConfidence.from_params(params)


# name, class (in market_filters), summary
_MARKET_FILTERS: tuple[tuple[str, str, str], ...] = (
    ("volume", "VolumeFilter", "allow entries only on a bar with enough (relative) volume"),
    ("momentum", "MomentumFilter", "allow entries only when the change over N bars agrees"),
    ("trend", "TrendFilter", "allow LONG only above a long SMA (SHORT below), optional ADX"),
    ("volatility", "VolatilityFilter", "allow entries only while ATR / close is in a band"),
    ("spread", "SpreadFilter", "allow entries only while the book spread (or bar range) is tight"),
)


def _market_filter(cls: str) -> Callable[[Any, BuildContext], Any]:
    def build(params: Any, ctx: BuildContext) -> Any:
        return getattr(market_filters, cls).from_params(params)

    return build


@hookimpl
def register_signals() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "sma_cross",
        Kind.SIGNAL,
        _sma_cross,
        SmaCrossParams,
        summary="LONG when the fast SMA of closes crosses above the slow SMA, FLAT below",
        per_symbol=True,
    )
    yield ComponentSpec(
        "ema_cross",
        Kind.SIGNAL,
        _ema_cross,
        EmaCrossParams,
        summary="LONG when the fast EMA of closes crosses above the slow EMA, FLAT below",
        per_symbol=True,
    )
    yield ComponentSpec(
        "rsi",
        Kind.SIGNAL,
        _rsi,
        RsiReversionParams,
        summary="RSI reversion: LONG crossing up through oversold, FLAT down through overbought",
        per_symbol=True,
    )
    yield ComponentSpec(
        "macd_cross",
        Kind.SIGNAL,
        _macd_cross,
        MacdCrossParams,
        summary="LONG when the MACD line crosses above its signal line, FLAT below",
        per_symbol=True,
    )
    for name, params, module, cls, summary in _BAR_SIGNALS:
        yield ComponentSpec(
            name,
            Kind.SIGNAL,
            _lazy(name, module, cls),
            params,
            summary=summary,
            per_symbol=True,
        )


@hookimpl
def register_voters() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "majority",
        Kind.VOTER,
        _majority,
        NoParams,
        summary="the action with the most votes; a tie is FLAT",
    )
    yield ComponentSpec(
        "unanimous",
        Kind.VOTER,
        _unanimous,
        NoParams,
        summary="an action only when every signal agrees, else FLAT",
    )
    yield ComponentSpec(
        "weighted",
        Kind.VOTER,
        _weighted,
        WeightedParams,
        summary="weighted sum of votes by signal name against a threshold",
    )
    yield ComponentSpec(
        "confidence",
        Kind.VOTER,
        _confidence,
        ConfidenceWeightedParams,
        summary="votes weighted by each signal's strength against a threshold",
    )


@hookimpl
def register_filters() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "hours",
        Kind.FILTER,
        _hours,
        HoursParams,
        summary="allow entries only within UTC hours [start, end) on given weekdays",
    )
    yield ComponentSpec(
        "min_confidence",
        Kind.FILTER,
        _min_confidence,
        MinConfidenceParams,
        summary="allow entries only when the decision's confidence reaches a minimum",
    )
    for name, cls, summary in _MARKET_FILTERS:
        yield ComponentSpec(
            name,
            Kind.FILTER,
            _market_filter(cls),
            getattr(market_filters, f"{cls.removesuffix('Filter')}Params"),
            summary=summary,
        )
