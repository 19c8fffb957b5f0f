"""The bot's store for analysis: ``gpt-trader export`` and ``gpt-trader db browse``."""
