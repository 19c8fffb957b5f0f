"""Entry point ``coinbase_sim``: adds ``gpt-trader sim serve`` to the CLI and Coinbase's
derivative products (CFM futures, INTX perpetuals) to the ``sim`` broker's catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gpt_trader.components import ProductCatalogue
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_commands(app: Any) -> None:
    # Imported here: the simulator (aiohttp, the engine) loads only when the CLI is built.
    from gpt_trader_coinbase_sim.cli import build_sim_app

    app.add_typer(build_sim_app(), name="sim")


@hookimpl
def register_products() -> Iterator[ProductCatalogue]:
    from gpt_trader_coinbase_sim.catalogue import CATALOGUE

    yield CATALOGUE
