"""Entry point ``coinbase_sim``: Coinbase's derivative products (CFM futures, INTX perpetuals)
for the ``sim`` broker's catalogue; ``gpt-trader sim serve`` is declared in
:mod:`gpt_trader_coinbase_sim.commands`."""

from __future__ import annotations

from collections.abc import Iterator

from gpt_trader.components import ProductCatalogue
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_products() -> Iterator[ProductCatalogue]:
    from gpt_trader_coinbase_sim.catalogue import CATALOGUE

    yield CATALOGUE
