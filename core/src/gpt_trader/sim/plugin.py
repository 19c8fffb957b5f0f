"""Built-in plugin: the ``sim`` broker and the ``synthetic`` and ``csv`` feeds.

Registered through the ``gpt_trader`` entry point ``sim = "gpt_trader.sim.plugin"`` like
any third-party plugin. A profile selects them by name, e.g.::

    broker = {use = "sim", starting_cash = 50000, market_fill = "next_open"}
    feed = {use = "csv", path = "data/btc_1m.csv", symbol = "BTC-USD"}

The settings models and factories live in :mod:`gpt_trader.sim.factories`, imported when
a profile builds one of these (listing plugins and ``--help`` do not load the exchange).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind, load
from gpt_trader.hookspecs import hookimpl

FACTORIES = "gpt_trader.sim.factories"


def _deferred(factory: str) -> Callable[[Any, BuildContext], Any]:
    """The factory named ``factory`` in :mod:`gpt_trader.sim.factories`, imported on the
    first build."""

    def build(params: Any, ctx: BuildContext) -> Any:
        return load(f"{FACTORIES}:{factory}")(params, ctx)

    return build


@hookimpl
def register_brokers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "sim",
        Kind.BROKER,
        _deferred("make_sim_broker"),
        f"{FACTORIES}:SimBrokerParams",
        summary="in-process simulated exchange (matching engine, fees, holds)",
    )


@hookimpl
def register_feeds() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "synthetic",
        Kind.FEED,
        _deferred("make_synthetic_feed"),
        f"{FACTORIES}:SyntheticFeedParams",
        summary="seeded random-walk candles with realistic volatility",
    )
    yield ComponentSpec(
        "csv",
        Kind.FEED,
        _deferred("make_csv_feed"),
        f"{FACTORIES}:CsvFeedParams",
        summary="historical candles from a CSV file (timestamp,open,high,low,close,volume)",
    )
