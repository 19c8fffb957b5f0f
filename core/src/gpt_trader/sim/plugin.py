"""Built-in plugin: the ``sim`` broker and the ``synthetic`` and ``csv`` feeds.

Registered through the ``gpt_trader`` entry point ``sim = "gpt_trader.sim.plugin"`` like
any third-party plugin. A profile selects them by name, e.g.::

    broker = {use = "sim", starting_cash = 50000, market_fill = "next_open"}
    feed = {use = "csv", path = "data/btc_1m.csv", symbol = "BTC-USD"}

The settings models and factories live in :mod:`gpt_trader.sim.factories`, imported when
a profile builds one of these (listing plugins and ``--help`` do not load the exchange).
"""

from __future__ import annotations

from collections.abc import Iterator

from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

FACTORIES = "gpt_trader.sim.factories"


@hookimpl
def register_brokers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "sim",
        Kind.BROKER,
        f"{FACTORIES}:make_sim_broker",
        f"{FACTORIES}:SimBrokerParams",
        summary="in-process simulated exchange (matching engine, fees, holds)",
    )


@hookimpl
def register_feeds() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "synthetic",
        Kind.FEED,
        f"{FACTORIES}:make_synthetic_feed",
        f"{FACTORIES}:SyntheticFeedParams",
        summary="seeded random-walk candles with realistic volatility",
    )
    yield ComponentSpec(
        "csv",
        Kind.FEED,
        f"{FACTORIES}:make_csv_feed",
        f"{FACTORIES}:CsvFeedParams",
        summary="historical candles from a CSV file (timestamp,open,high,low,close,volume)",
    )
