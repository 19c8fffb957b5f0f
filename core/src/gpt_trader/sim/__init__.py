"""The exchange simulator built into core.

One matching engine (:mod:`gpt_trader.sim.matching`) per product, a balance ledger and the
exchange that ties them together (:mod:`gpt_trader.sim.exchange`), the in-process broker
(:mod:`gpt_trader.sim.broker`) and two feeds: a seeded random walk
(:mod:`gpt_trader.sim.synthetic`) and historical candles from CSV
(:mod:`gpt_trader.sim.csvfeed`). :mod:`gpt_trader.sim.plugin` registers them as the
built-in ``sim`` broker and the ``synthetic`` and ``csv`` feeds.
"""

from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.exchange import CancelResult, SimExchange
from gpt_trader.sim.matching import MarketFill, MatchingEngine, Update
from gpt_trader.sim.products import default_products, market_profile
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.synthetic import SyntheticFeed

__all__ = [
    "CancelResult",
    "CsvCandleFeed",
    "MarketFill",
    "MatchingEngine",
    "SimBroker",
    "SimExchange",
    "SimRejected",
    "SyntheticFeed",
    "Update",
    "default_products",
    "market_profile",
]
