"""The exchange simulator built into core.

One matching engine (:mod:`gpt_trader.sim.matching`) per product, a balance ledger and the
exchange that ties them together (:mod:`gpt_trader.sim.exchange`), the in-process broker
(:mod:`gpt_trader.sim.broker`) and two feeds: a seeded random walk
(:mod:`gpt_trader.sim.synthetic`) and historical candles from CSV
(:mod:`gpt_trader.sim.csvfeed`). :mod:`gpt_trader.sim.plugin` registers them as the
built-in ``sim`` broker and the ``synthetic`` and ``csv`` feeds. Derivatives (CFM futures,
INTX perpetuals): :mod:`gpt_trader.sim.derivatives` (products) and
:mod:`gpt_trader.sim.margin` (margin, liquidation, funding, expiry, sweeps).
"""

from gpt_trader.domain import MarginType
from gpt_trader.domain.margin_windows import MarginWindow
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.derivatives import (
    DerivativeSpec,
    IntradaySetting,
    derivative_spec,
    derivatives_products,
    next_expiry_symbol,
)
from gpt_trader.sim.exchange import CancelResult, SimExchange
from gpt_trader.sim.margin import (
    AccountSummary,
    DerivativesConfig,
    DerivativesLedger,
    FundingPayment,
    LiquidationFill,
    PositionView,
    Settlement,
)
from gpt_trader.sim.matching import MarketFill, MatchingEngine, Update
from gpt_trader.sim.products import default_products, market_profile
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.synthetic import SyntheticFeed

__all__ = [
    "AccountSummary",
    "CancelResult",
    "CsvCandleFeed",
    "DerivativeSpec",
    "DerivativesConfig",
    "DerivativesLedger",
    "FundingPayment",
    "IntradaySetting",
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
    "Update",
    "default_products",
    "derivative_spec",
    "derivatives_products",
    "market_profile",
    "next_expiry_symbol",
]
