"""Filters: entries only in the allowed hours / above a confidence; exits always pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import pytest
from gpt_trader.domain.decisions import Action, Decision
from gpt_trader.domain.market import datetime_to_ts
from gpt_trader.protocols import StateView
from gpt_trader_strategies.filters import HoursFilter, HoursParams, MinConfidence
from pydantic import ValidationError


@dataclass
class State:
    """Filters here only read ``now``; the rest of :class:`StateView` is not needed."""

    now: int


def at(hour: int, minute: int = 0) -> StateView:
    ts = datetime_to_ts(datetime(2025, 5, 20, hour, minute, tzinfo=UTC))
    return cast(StateView, State(ts))


def decision(action: Action, confidence: float = 1.0) -> Decision:
    return Decision("BTC-USD", 0, action, confidence)


def test_hours_window() -> None:
    f = HoursFilter(8, 16)
    assert f.name == "hours"
    assert f.allow(decision(Action.LONG), at(8)).allowed
    assert f.allow(decision(Action.LONG), at(15, 59)).allowed
    assert f.allow(decision(Action.SHORT), at(12)).allowed
    late = f.allow(decision(Action.LONG), at(16))
    assert not late.allowed
    assert late.reason == "outside trading hours 08:00-16:00 UTC (now 16:00 UTC)"
    assert not f.allow(decision(Action.LONG), at(7, 59)).allowed
    assert not f.allow(decision(Action.SHORT), at(3)).allowed


@pytest.mark.parametrize("hour", [0, 7, 16, 23])
def test_exits_always_pass(hour: int) -> None:
    assert HoursFilter(8, 16).allow(decision(Action.FLAT), at(hour)).allowed


def test_hours_window_wrapping_midnight() -> None:
    f = HoursFilter(22, 6)
    assert f.allow(decision(Action.LONG), at(23, 30)).allowed
    assert f.allow(decision(Action.LONG), at(5, 59)).allowed
    assert not f.allow(decision(Action.LONG), at(6)).allowed
    allowed = sorted(h for h in range(24) if f.is_open(at(h).now))
    assert allowed == [0, 1, 2, 3, 4, 5, 22, 23]
    assert sorted(h for h in range(24) if HoursFilter(0, 24).is_open(at(h).now)) == list(range(24))
    assert [h for h in range(24) if HoursFilter(23, 0).is_open(at(h).now)] == [23]


def test_hours_params_validation() -> None:
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert HoursParams().model_dump() == {"start": 0, "end": 24, "days": week}
    with pytest.raises(ValidationError, match="ambiguous window"):
        HoursParams(start=5, end=5)
    with pytest.raises(ValidationError, match="ambiguous window"):
        HoursParams(start=0, end=0)
    with pytest.raises(ValidationError, match="less than or equal to 23"):
        HoursParams(start=24, end=3)
    with pytest.raises(ValidationError, match="less than or equal to 24"):
        HoursParams(end=25)


def test_min_confidence() -> None:
    f = MinConfidence(0.6)
    assert f.allow(decision(Action.LONG, 0.6), at(0)).allowed
    low = f.allow(decision(Action.LONG, 0.5), at(0))
    assert not low.allowed
    assert "below minimum 0.60" in low.reason
    assert f.allow(decision(Action.FLAT, 0.0), at(0)).allowed
