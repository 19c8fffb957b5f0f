"""The module the ``example_signal`` entry point names: its hook implementations."""

from __future__ import annotations

from collections.abc import Iterator

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

from gpt_trader_example_signal.breakout import Breakout, BreakoutParams


def make_breakout(params: BreakoutParams, ctx: BuildContext) -> Breakout:
    """Factory: called once per symbol of the universe (``per_symbol=True``)."""
    if ctx.symbol is None:
        raise ValueError("example.breakout is per-symbol: build it with ctx.symbol set")
    return Breakout(ctx.symbol, params.period)


@hookimpl
def register_signals() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "example.breakout",
        Kind.SIGNAL,
        make_breakout,
        BreakoutParams,
        summary="LONG on a close above the previous N bars' high, FLAT below their low",
        per_symbol=True,
    )
