"""GPT-Trader operations: Prometheus metrics, alerts and notifiers, preflight, JSON logs."""

__version__ = "0.1.0"
