"""Coinbase derivatives: ``coinbase.cfm`` (US futures) and ``coinbase.intx`` (perpetuals)."""

import os

# INTX perpetuals are not for every account or jurisdiction: off unless asked for.
ENABLE_ENV = "COINBASE_ENABLE_DERIVATIVES"


def derivatives_enabled() -> bool:
    return os.environ.get(ENABLE_ENV, "").strip() == "1"
