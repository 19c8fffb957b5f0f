"""A runtime guard's equity band is honest: evaluated at an equity inside it, the guard
returns what the kernel drops and keeps its state; a cent beyond the band's edges it does
not (the portfolio replay skips timer ticks whose equity every band holds)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from gpt_trader.domain import Severity, TradingState
from gpt_trader_risk.base import ReportLatch
from gpt_trader_risk.breakers import DAY_NS
from risk_support import FakeState, build_guard

D = Decimal
CENT = D("0.01")


def _state(guard: Any) -> dict[str, Any]:
    """What the guard keeps between evaluations (its latch by the level it holds)."""
    return {
        k: v.level if isinstance(v, ReportLatch) else copy.deepcopy(v)
        for k, v in vars(guard).items()
    }


def _inside(band: Any) -> list[Decimal]:
    low = band.low if band.low is not None else D(0)
    high = min(x for x in (band.high, band.peak, D(10**9)) if x is not None)
    return [low + (high - low) * D(k) / 10 for k in range(1, 10)]


def _quiet(guard: Any, state: FakeState, equity: Decimal) -> bool:
    before = _state(guard)
    probe = copy.deepcopy(guard)
    state.equity = equity
    result = probe.evaluate(state)
    return result.severity is Severity.OK and _state(probe) == before


@pytest.mark.parametrize(
    ("name", "params", "equities"),
    [
        # OK, then WARN (80 % of the limit), then CRITICAL
        ("daily_loss", {"limit": "100"}, ["10000", "9910", "9850"]),
        ("max_drawdown", {"pct": "10"}, ["10000", "9100", "8900"]),
    ],
)
def test_inside_the_band_nothing_changes_at_its_edges_something_does(
    state: FakeState, name: str, params: dict[str, str], equities: list[str]
) -> None:
    guard = build_guard(name, **params)
    for equity in equities:
        state.equity = D(equity)
        result = guard.evaluate(state)
        if result.severity is Severity.CRITICAL:
            state.trading_state = result.action  # the kernel acted on it
        band = guard.equity_band(state)
        assert band is not None
        for inside in _inside(band):
            assert _quiet(guard, state, inside), (equity, inside)
        # a cent beyond an edge, the severity changes (the band is not wider than it must be)
        outside = [band.low - CENT] if band.low is not None else []
        outside += [band.high + CENT] if band.high is not None else []
        assert outside, band
        for beyond in outside:
            assert not _quiet(guard, state, beyond), (equity, beyond)


def test_a_new_day_and_an_operator_leave_no_band(state: FakeState) -> None:
    daily = build_guard("daily_loss", limit="100")
    assert daily.equity_band(state) is None  # no day's start yet
    daily.evaluate(state)
    band = daily.equity_band(state)
    assert band.until_ns == (state.now // DAY_NS + 1) * DAY_NS
    drawdown = build_guard("max_drawdown", pct="10")
    state.equity = D(8000)
    assert drawdown.evaluate(state).severity is Severity.CRITICAL
    assert drawdown.equity_band(state) is None  # the kernel has not tightened yet
    state.trading_state = TradingState.REDUCE_ONLY
    assert drawdown.equity_band(state) is not None
    state.peak_equity = D(20000)  # the kernel's peak passed the guard's
    assert drawdown.equity_band(state) is None
    repeat = build_guard("max_drawdown", pct="10", repeat=True)
    repeat.evaluate(state)
    assert repeat.equity_band(state) is None  # every result is reported
