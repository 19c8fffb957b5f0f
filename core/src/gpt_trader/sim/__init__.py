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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded on first use: importing one module of the package (a plugin's entry module, listed
# without building anything) must not load the exchange and the whole domain with it.
_WHERE = {
    "CancelResult": "gpt_trader.sim.exchange",
    "CsvCandleFeed": "gpt_trader.sim.csvfeed",
    "DerivativesConfig": "gpt_trader.sim.margin_records",
    "DerivativesLedger": "gpt_trader.sim.margin",
    "LiquidationFill": "gpt_trader.sim.margin_records",
    "MarginType": "gpt_trader.domain",
    "MarginWindow": "gpt_trader.domain.margin_schedule",
    "MarketFill": "gpt_trader.sim.matching",
    "MatchingEngine": "gpt_trader.sim.matching",
    "PositionView": "gpt_trader.sim.margin_records",
    "Settlement": "gpt_trader.sim.margin_records",
    "SimBroker": "gpt_trader.sim.broker",
    "SimExchange": "gpt_trader.sim.exchange",
    "SimRejected": "gpt_trader.sim.reasons",
    "SyntheticFeed": "gpt_trader.sim.synthetic",
    "Timer": "gpt_trader.sim.exchange",
    "Update": "gpt_trader.sim.matching",
    "default_products": "gpt_trader.sim.products",
    "default_terms": "gpt_trader.sim.margin_account",
    "market_profile": "gpt_trader.sim.products",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
