"""The ``ops`` plugin's command, listed without importing it."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "preflight",
        "Run the checks the plugins register: keys, permissions, clock, risk files, state dir and plugins for a profile.",
        "gpt_trader_ops.preflight:register",
    ),
)
