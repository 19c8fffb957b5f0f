"""Entry point ``coinbase_checks``: the Coinbase account checks ``gpt-trader preflight`` runs
(key, clock, permissions, eligibility; see :mod:`gpt_trader_coinbase.preflight`)."""

from __future__ import annotations

from gpt_trader.checks import Check
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_checks() -> list[Check]:
    # Loaded when a preflight asks, not at discovery: the key checks need cryptography.
    from gpt_trader_coinbase.preflight import account_checks

    return account_checks()
