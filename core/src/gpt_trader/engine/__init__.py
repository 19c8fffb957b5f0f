"""The kernel every mode shares, and what it keeps: orders, positions, P&L, guard state."""

from gpt_trader.engine.kernel import Kernel, KernelParts

__all__ = ["Kernel", "KernelParts"]
