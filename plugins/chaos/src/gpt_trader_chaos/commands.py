"""The ``chaos`` plugin's command, listed without importing it."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "chaos",
        "Run the bot, its Coinbase adapter and the simulator on a virtual clock under seeded faults and crashes; check that nothing was sent twice or lost.",
        "gpt_trader_chaos.cli:register",
    ),
)
