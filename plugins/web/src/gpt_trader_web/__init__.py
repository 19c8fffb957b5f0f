"""GPT-Trader's web dashboard and JSON API: ``gpt-trader web --state-dir DIR``."""
