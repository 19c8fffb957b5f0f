"""Entry point ``research``: the all-in sizer, the recorder sink and the research commands.

Commands (declared in :mod:`gpt_trader_research.commands`): ``backtest``, ``replay``, ``optimize``, ``sweep``, ``strategy new``,
``data import|download|resample|export|list``. Heavy imports (numpy, plotly, optuna, ray) happen
inside the commands, so ``gpt-trader --help`` and ``plugins list`` stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator

from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_sizers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "all_in",
        Kind.SIZER,
        "gpt_trader_research.components:make_all_in",
        "gpt_trader_research.components:AllInParams",
        summary="the whole cash on each entry, less room for the taker fee (backtest default)",
    )


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "research.recorder",
        Kind.SINK,
        "gpt_trader_research.components:make_recorder",
        summary="keep decisions, orders and fills in memory for backtest and replay reports",
    )
