"""The ``chaos`` plugin: ``gpt-trader chaos``, seeded fault-and-crash scenarios on a virtual
clock with the kernel, the Coinbase adapter and its simulator in one process."""

from __future__ import annotations

from typing import Any

from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_commands(app: Any) -> None:
    from gpt_trader_chaos.cli import register

    register(app)
