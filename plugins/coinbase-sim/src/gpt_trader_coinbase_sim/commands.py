"""The ``coinbase_sim`` plugin's command, listed without importing it."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "sim",
        "The Coinbase-protocol exchange simulator.",
        "gpt_trader_coinbase_sim.cli:register",
    ),
)
