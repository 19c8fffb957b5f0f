"""The guard stack: pre-trade checks on every order, runtime guards on a timer and on fills.

Guards fail closed: one that raises, or takes longer than its budget, counts as CRITICAL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gpt_trader.domain import GuardResult, OrderRequest, Severity, TradingState
from gpt_trader.protocols import PreTradeGuard, RuntimeGuard, StateView

# A guard slower than this fails closed. Generous, so that a GC pause or a busy machine
# does not halt a healthy bot; None (replays, backtests) turns the clock off altogether,
# since a decision must not depend on how fast the machine was.
DEFAULT_BUDGET_S = 0.5


@dataclass
class GuardCounters:
    recoverable_failures: int = 0
    critical_failures: int = 0
    warnings: int = 0


@dataclass
class GuardStack:
    pre_trade: Sequence[PreTradeGuard] = ()
    runtime: Sequence[RuntimeGuard] = ()
    budget_s: float | None = DEFAULT_BUDGET_S
    counters: dict[str, GuardCounters] = field(default_factory=dict)

    def check(self, request: OrderRequest, state: StateView) -> list[GuardResult]:
        """Every non-OK result for ``request``; the order may go only if none blocks."""
        out: list[GuardResult] = []
        for guard in self.pre_trade:
            result = self._run(guard.name, guard.check, request, state)
            if result.severity is not Severity.OK:
                out.append(result)
        return out

    def evaluate(self, state: StateView) -> list[GuardResult]:
        out: list[GuardResult] = []
        for guard in self.runtime:
            result = self._run(guard.name, guard.evaluate, state)
            if result.severity is not Severity.OK:
                out.append(result)
        return out

    def _run(self, name: str, call: Callable[..., GuardResult], *args: Any) -> GuardResult:
        budget = self.budget_s
        started = 0.0 if budget is None else time.perf_counter()
        try:
            result = call(*args)
        except Exception as exc:
            result = GuardResult(
                guard=name,
                severity=Severity.CRITICAL,
                message=f"guard raised {type(exc).__name__}: {exc}; failing closed",
                action=TradingState.HALTED,
            )
        elapsed = 0.0 if budget is None else time.perf_counter() - started
        if budget is not None and elapsed > budget and result.severity < Severity.CRITICAL:
            result = GuardResult(
                guard=name,
                severity=Severity.CRITICAL,
                message=f"guard took {elapsed * 1000:.0f} ms (budget "
                f"{budget * 1000:.0f} ms); failing closed",
                value=elapsed,
                threshold=budget,
                action=TradingState.HALTED,
            )
        if not isinstance(result, GuardResult):
            result = GuardResult(
                guard=name,
                severity=Severity.CRITICAL,
                message=f"guard returned {type(result).__name__}, not a GuardResult; failing closed",
            )
        counters = self.counters.get(name)
        if counters is None:  # every guard run is listed in the metrics, at 0 until it fails
            counters = self.counters[name] = GuardCounters()
        if result.severity is Severity.OK:
            return result
        if result.severity is Severity.CRITICAL:
            counters.critical_failures += 1
        elif result.severity is Severity.RECOVERABLE:
            counters.recoverable_failures += 1
        elif result.severity is Severity.WARN:
            counters.warnings += 1
        return result

    def metrics(self) -> dict[str, int]:
        """Counters as ``risk.guards.<name>.<counter>`` for reports and metrics."""
        out: dict[str, int] = {}
        for name, c in self.counters.items():
            out[f"risk.guards.{name}.recoverable_failures"] = c.recoverable_failures
            out[f"risk.guards.{name}.critical_failures"] = c.critical_failures
        return out


def blocks(result: GuardResult) -> bool:
    """A pre-trade result at RECOVERABLE or worse stops the order."""
    return result.severity >= Severity.RECOVERABLE
