"""Core's built-in components: the log sink and the consensus voter."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from gpt_trader.basics import Consensus, LogParams, LogSink
from gpt_trader.domain import Action, Order, OrderRequest, OrderStatus, Side, SignalValue
from gpt_trader.domain.events import OrderUpdated

TS = 1_735_689_600_000_000_000


def test_one_log_line_per_order_transition(caplog: pytest.LogCaptureFixture) -> None:
    sink = LogSink(LogParams())
    order = Order.from_request(OrderRequest("c-1", "BTC-USD", Side.BUY, Decimal("0.001")), TS)
    # A submit that timed out, re-announced by each lookup until the venue answers.
    order.reject_reason = "submit timed out"
    steps = [OrderStatus.UNKNOWN] * 3 + [OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.FILLED]
    with caplog.at_level(logging.INFO, logger="gpt_trader.events"):
        for status in steps:
            order.status = status
            sink.handle(OrderUpdated(TS, order.copy()))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "order c-1 BTC-USD BUY 0.001 UNKNOWN: submit timed out",
        "order c-1 BTC-USD BUY 0.001 OPEN",
        "order c-1 BTC-USD BUY 0.001 FILLED",
    ]


def test_consensus_decides_only_when_every_signal_agrees() -> None:
    voter = Consensus()

    def vote(*actions: Action) -> Action | None:
        votes = [SignalValue(f"s{i}", "BTC-USD", TS, a) for i, a in enumerate(actions)]
        decision = voter.combine("BTC-USD", TS, votes)
        return None if decision is None else decision.action

    assert vote() is None
    assert vote(Action.LONG) is Action.LONG
    assert vote(Action.FLAT, Action.FLAT) is Action.FLAT
    assert vote(Action.LONG, Action.FLAT) is None
