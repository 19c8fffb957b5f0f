"""GPT-Trader risk: pre-trade guards, runtime guards (circuit breakers) and sizers.

Components are registered by :mod:`gpt_trader_risk.plugin` (entry point ``risk``); see the
distribution's README for every component, its params and defaults.
"""

from gpt_trader_risk.compare import Level, Limit, Mode

__all__ = ["Level", "Limit", "Mode"]
__version__ = "0.1.0"
