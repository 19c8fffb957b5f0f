"""Core's own components, registered like any plugin: a consensus voter, fixed and notional
sizers, a log sink. With the sim broker and feeds they make a profile that runs on core
alone (``gpt-trader --no-plugins``).

Every CLI command imports this entry module, so the components themselves live in
:mod:`gpt_trader.basics` and load when a profile builds one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

if TYPE_CHECKING:
    from gpt_trader import basics
    from gpt_trader.params import NoParams


def _consensus(params: NoParams, ctx: BuildContext) -> basics.Consensus:
    from gpt_trader import basics

    return basics.Consensus()


def _fixed(params: basics.FixedSizeParams, ctx: BuildContext) -> basics.FixedSize:
    from gpt_trader import basics

    return basics.FixedSize(params)


def _notional(params: basics.NotionalParams, ctx: BuildContext) -> basics.NotionalSize:
    from gpt_trader import basics

    return basics.NotionalSize(params)


def _log(params: basics.LogParams, ctx: BuildContext) -> basics.LogSink:
    from gpt_trader import basics

    return basics.LogSink(params)


@hookimpl
def register_voters() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "consensus",
        Kind.VOTER,
        _consensus,
        summary="an action only when every signal agrees, else no decision",
    )


@hookimpl
def register_sizers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "fixed",
        Kind.SIZER,
        _fixed,
        "gpt_trader.basics:FixedSizeParams",
        "fixed base size per entry",
    )
    yield ComponentSpec(
        "notional",
        Kind.SIZER,
        _notional,
        "gpt_trader.basics:NotionalParams",
        "fixed quote notional per entry",
    )


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "log",
        Kind.SINK,
        _log,
        "gpt_trader.basics:LogParams",
        "log orders, fills, trips and state changes",
    )
