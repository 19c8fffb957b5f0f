"""GPT-Trader research: backtests on the live kernel, reports, replays, optimisation, data."""

__version__ = "0.1.0"
