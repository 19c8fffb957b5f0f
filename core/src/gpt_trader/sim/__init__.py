"""The exchange simulator built into core: a generic exchange, no venue's rules.

One matching engine (:mod:`gpt_trader.sim.matching`) per product, a balance ledger and the
exchange that ties them together (:mod:`gpt_trader.sim.exchange`), the in-process broker
(:mod:`gpt_trader.sim.broker`) and two feeds: a seeded random walk
(:mod:`gpt_trader.sim.synthetic`) and historical candles from CSV
(:mod:`gpt_trader.sim.csvfeed`). :mod:`gpt_trader.sim.plugin` registers them as the
built-in ``sim`` broker and the ``synthetic`` and ``csv`` feeds. Derivatives are driven by
the terms on each product (``Product.derivative``): :mod:`gpt_trader.sim.margin` (the
margin ledger: pools, positions, holds, funding, expiry, liquidation),
:mod:`gpt_trader.sim.margin_rules` (the maths of one position),
:mod:`gpt_trader.sim.margin_records` and :mod:`gpt_trader.sim.margin_state` (its records and
their JSON form). Refusals carry a :class:`~gpt_trader.domain.reasons.RejectReason`.
"""

from gpt_trader.domain import MarginType
from gpt_trader.domain.margin_schedule import MarginWindow
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.exchange import CancelResult, SimExchange, Timer
from gpt_trader.sim.margin import DerivativesLedger
from gpt_trader.sim.margin_account import default_terms
from gpt_trader.sim.margin_records import (
    DerivativesConfig,
    LiquidationFill,
    PositionView,
    Settlement,
)
from gpt_trader.sim.matching import MarketFill, MatchingEngine, Update
from gpt_trader.sim.products import default_products, market_profile
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.synthetic import SyntheticFeed

__all__ = [
    "CancelResult",
    "CsvCandleFeed",
    "DerivativesConfig",
    "DerivativesLedger",
    "LiquidationFill",
    "MarginType",
    "MarginWindow",
    "MarketFill",
    "MatchingEngine",
    "PositionView",
    "Settlement",
    "SimBroker",
    "SimExchange",
    "SimRejected",
    "SyntheticFeed",
    "Timer",
    "Update",
    "default_products",
    "default_terms",
    "market_profile",
]
