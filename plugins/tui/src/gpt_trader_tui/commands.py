"""The ``tui`` plugin's command, listed without importing it."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "tui",
        "Dashboard of a running or finished bot: p pause, c cancel all, r resume, q quit.",
        "gpt_trader_tui.cli:register",
    ),
)
