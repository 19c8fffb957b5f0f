"""GPT-Trader: automated trading on Coinbase with one kernel for live, paper and backtest."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gpt-trader")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
