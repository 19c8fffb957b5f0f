"""The ``web`` plugin's command, listed without importing it."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "web",
        "Web dashboard and JSON API of a running or finished bot (/api/v1/).",
        "gpt_trader_web.cli:register",
    ),
)
