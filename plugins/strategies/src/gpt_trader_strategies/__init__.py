"""GPT-Trader's first-party strategies: signals, voters and filters (entry point ``strategies``).

Import the classes from their modules (``gpt_trader_strategies.signals`` and so on); the
plugin registration lives in :mod:`gpt_trader_strategies.plugin`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gpt-trader-strategies")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
