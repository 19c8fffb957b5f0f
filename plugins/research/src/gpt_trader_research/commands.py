"""The ``research`` plugin's commands, listed without importing them."""

from gpt_trader.cli.table import CommandRef

COMMANDS = (
    CommandRef(
        "backtest",
        "Backtest signals on historical bars through the live kernel, guards and sizers: one product (--symbol), or the profile's whole universe at once (a portfolio).",
        "gpt_trader_research.cli:register",
    ),
    CommandRef(
        "replay",
        "Replay a recorded session's market data through the kernel and compare decisions, orders, prices and fees with what was recorded.",
        "gpt_trader_research.cli:register",
    ),
    CommandRef(
        "optimize",
        "Search signal parameters with Optuna; each trial is a backtest through the kernel (of one product, or of the profile's whole universe).",
        "gpt_trader_research.cli:register",
    ),
    CommandRef(
        "sweep",
        "Every (fast, slow) SMA-cross pair in one vectorised pass (long-only, all-in, next-open fills), ranked by final equity; the best --top re-run through the kernel, each marked with whether the kernel agrees (trades and equity to the cent).",
        "gpt_trader_research.cli:register",
    ),
    CommandRef(
        "strategy",
        "Write and manage third-party strategy packages.",
        "gpt_trader_research.cli:register",
    ),
    CommandRef(
        "data",
        "The data catalogue: candles in Parquet, per product and granularity.",
        "gpt_trader_research.cli:register",
    ),
)
