"""The guard stack fails closed: a guard that raises or overruns its budget is CRITICAL."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from gpt_trader.domain import GuardResult, OrderRequest, Severity, Side, TradingState
from gpt_trader.engine.guards import GuardStack

REQUEST = OrderRequest("c", "BTC-USD", Side.BUY, Decimal("1"))


class Slow:
    name = "test.slow"

    def check(self, request: OrderRequest, state: Any) -> GuardResult:
        time.sleep(0.02)  # at least 20 ms, whatever the machine
        return GuardResult.passed(self.name)


class Raises:
    name = "test.raises"

    def check(self, request: OrderRequest, state: Any) -> GuardResult:
        raise RuntimeError("no data")


def test_an_overrun_fails_closed_and_halts() -> None:
    (result,) = GuardStack([Slow()], budget_s=0.01).check(REQUEST, None)
    assert result.severity is Severity.CRITICAL
    assert result.action is TradingState.HALTED
    assert "budget 10 ms" in result.message


def test_without_a_budget_time_does_not_decide() -> None:
    assert GuardStack([Slow()], budget_s=None).check(REQUEST, None) == []


def test_a_raising_guard_fails_closed_and_is_counted() -> None:
    stack = GuardStack([Raises()])
    (result,) = stack.check(REQUEST, None)
    assert result.severity is Severity.CRITICAL
    assert "no data" in result.message
    assert stack.metrics()["risk.guards.test.raises.critical_failures"] == 1


def test_a_guard_that_passes_is_listed_in_the_metrics_at_zero() -> None:
    stack = GuardStack([Slow()], budget_s=None)
    assert stack.check(REQUEST, None) == []
    assert stack.metrics() == {
        "risk.guards.test.slow.recoverable_failures": 0,
        "risk.guards.test.slow.critical_failures": 0,
    }
