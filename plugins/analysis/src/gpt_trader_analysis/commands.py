"""The ``analysis`` plugin's commands, listed without importing them."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "export",
        "Export a table of the store, read-only (the running bot is never locked).",
        "gpt_trader_analysis.cli:register",
    ),
    CommandRef(
        "db",
        "The store as a database: browse it with Datasette.",
        "gpt_trader_analysis.cli:register",
    ),
)
