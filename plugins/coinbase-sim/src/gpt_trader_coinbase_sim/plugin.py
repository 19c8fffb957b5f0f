"""Entry point ``coinbase_sim``: adds ``gpt-trader sim serve`` to the CLI."""

from __future__ import annotations

from typing import Any

from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_commands(app: Any) -> None:
    # Imported here: the simulator (aiohttp, the engine) loads only when the CLI is built.
    from gpt_trader_coinbase_sim.cli import build_sim_app

    app.add_typer(build_sim_app(), name="sim")
