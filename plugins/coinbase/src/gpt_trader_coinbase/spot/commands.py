"""The ``coinbase_spot`` plugin's commands, listed without importing them."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "positions",
        "Positions as the venue reports them; on spot, the account's holding beside the bot's own inventory (what its fills built, from the state dir's store).",
        "gpt_trader_coinbase.spot.cli:register",
    ),
    CommandRef(
        "account",
        "Balances of the profile's broker account (total, available, on hold).",
        "gpt_trader_coinbase.spot.cli:register",
    ),
    CommandRef(
        "orders",
        "Open orders at the venue: list and cancel.",
        "gpt_trader_coinbase.spot.cli:register",
    ),
)
