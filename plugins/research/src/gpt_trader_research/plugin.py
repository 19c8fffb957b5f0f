"""Entry point ``research``: the all-in sizer, the recorder sink and the research commands.

Commands (declared in :mod:`gpt_trader_research.commands`): ``backtest``, ``replay``, ``optimize``, ``sweep``, ``strategy new``,
``data import|download|resample|export|list``. Heavy imports (numpy, plotly, optuna, ray) happen
inside the commands, so ``gpt-trader --help`` and ``plugins list`` stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind, NoParams
from gpt_trader.hookspecs import hookimpl


def _all_in(params: Any, ctx: BuildContext) -> Any:
    from gpt_trader_research.components import make_all_in

    return make_all_in(params, ctx)


def _recorder(params: NoParams, ctx: BuildContext) -> Any:
    from gpt_trader_research.components import make_recorder

    return make_recorder(params, ctx)


@hookimpl
def register_sizers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "all_in",
        Kind.SIZER,
        _all_in,
        "gpt_trader_research.components:AllInParams",
        summary="the whole cash on each entry, less room for the taker fee (backtest default)",
    )


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "research.recorder",
        Kind.SINK,
        _recorder,
        NoParams,
        summary="keep decisions, orders and fills in memory for backtest and replay reports",
    )
