"""GPT-Trader's Textual dashboard (``gpt-trader tui``)."""

__version__ = "0.1.0"
