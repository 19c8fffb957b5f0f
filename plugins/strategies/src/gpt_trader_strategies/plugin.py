"""Entry point ``strategies``: registers this distribution's signals, voters and filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gpt_trader.components import BuildContext, ComponentSpec, Kind, NoParams
from gpt_trader.hookspecs import hookimpl

from gpt_trader_strategies.filters import (
    HoursFilter,
    HoursParams,
    MinConfidence,
    MinConfidenceParams,
)
from gpt_trader_strategies.params import (
    EmaCrossParams,
    MacdCrossParams,
    RsiReversionParams,
    SmaCrossParams,
)

if TYPE_CHECKING:
    # The signals import numpy; they load when a profile builds one, not at discovery.
    from gpt_trader_strategies.signals import EmaCross, MacdCross, RsiReversion, SmaCross
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
        summary="allow entries only within UTC hours [start, end); exits always pass",
    )
    yield ComponentSpec(
        "min_confidence",
        Kind.FILTER,
        _min_confidence,
        MinConfidenceParams,
        summary="allow entries only when the decision's confidence reaches a minimum",
    )
