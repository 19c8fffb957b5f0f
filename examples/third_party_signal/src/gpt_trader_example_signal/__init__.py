"""An example third-party GPT-Trader plugin: the ``example.breakout`` signal."""

from gpt_trader_example_signal.breakout import Breakout, BreakoutParams

__all__ = ["Breakout", "BreakoutParams"]
