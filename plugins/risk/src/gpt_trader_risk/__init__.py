"""GPT-Trader risk: pre-trade guards, runtime guards (circuit breakers) and sizers.

Components are registered by :mod:`gpt_trader_risk.plugin` (entry point ``risk``); see the
distribution's README for every component, its params and defaults.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_trader_risk.compare import Level, Limit, Mode

__all__ = ["Level", "Limit", "Mode"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # On first use: every CLI command imports the package for its entry module, which needs
    # none of these (and they load the domain package).
    if name in __all__:
        return getattr(importlib.import_module("gpt_trader_risk.compare"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
