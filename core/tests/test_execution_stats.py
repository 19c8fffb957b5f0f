"""Execution health, one definition for live event objects and stored payloads: success
rate over a window, p95 latency (REST calls before submit-to-ack), retries, levels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from gpt_trader.domain import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from gpt_trader.domain.events import Event, OrderIntent, OrderRejected, OrderUpdated, to_jsonable
from gpt_trader.execution_stats import CRITICAL, OK, WARN, ExecutionStats, percentile

NS = 1_000_000_000
T0 = 1_735_689_600 * NS


def _request(cid: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol="BTC-USD",
        side=Side.BUY,
        size=Decimal("0.01"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("100"),
        time_in_force=TimeInForce.GTC,
    )


def _order(cid: str, status: OrderStatus) -> Order:
    r = _request(cid)
    return Order(
        client_order_id=cid,
        symbol=r.symbol,
        side=r.side,
        size=r.size,
        order_type=r.order_type,
        time_in_force=r.time_in_force,
        status=status,
        limit_price=r.limit_price,
        created_ts=T0,
        updated_ts=T0,
    )


def session(failures: int, total: int = 20) -> list[Event]:
    """``total`` submissions acknowledged 0.1 s later; ``failures`` of them fail, one kind
    of failure after another (UNKNOWN, REJECTED, a venue rejection)."""
    events: list[Event] = []
    for n in range(total):
        cid, ts = f"c{n}", T0 + n * NS
        events.append(OrderIntent(ts, _request(cid)))
        if n >= failures:
            events.append(OrderUpdated(ts + NS // 10, _order(cid, OrderStatus.OPEN)))
        elif n % 3 == 0:
            events.append(OrderUpdated(ts + NS // 10, _order(cid, OrderStatus.UNKNOWN)))
        elif n % 3 == 1:
            events.append(OrderUpdated(ts + NS // 10, _order(cid, OrderStatus.REJECTED)))
        else:
            events.append(OrderRejected(ts, _request(cid), "INSUFFICIENT_FUND", "venue"))
    return events


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0
    assert percentile([5.0, 1.0, 3.0, 2.0], 50) == 2.0


@pytest.mark.parametrize(("failures", "level"), [(0, OK), (2, WARN), (5, CRITICAL)])
def test_objects_and_stored_payloads_give_the_same_health(failures: int, level: str) -> None:
    live, stored = ExecutionStats(), ExecutionStats()
    for event in session(failures):
        live.observe(event)
        payload: dict[str, Any] = to_jsonable(event)
        stored.observe(payload, payload["type"], event.ts)
    assert live.health() == stored.health()
    health = live.health()
    assert (health.submissions, health.failures, health.window) == (20, failures, 20)
    assert health.window_failures == failures
    assert health.success_rate == pytest.approx((20 - failures) / 20)
    assert health.level == level
    assert health.latency_source == "ack"
    assert health.retry_ratio is None


def test_guard_rejections_do_not_count_and_few_submissions_stay_ok() -> None:
    stats = ExecutionStats(min_submissions=5)
    stats.observe(OrderRejected(T0, _request("g"), "max_position", "guard"))
    for event in session(failures=3, total=4):
        stats.observe(event)
    assert stats.success_rate == pytest.approx(1 / 4)
    assert stats.level() == OK  # four settled submissions: too few to judge
    assert stats.submissions == 4


def test_rest_calls_give_latency_and_retries() -> None:
    stats = ExecutionStats()
    for event in session(failures=0, total=3):
        stats.observe(event)
    for n, latency in enumerate((0.05, 0.2, 0.1)):
        stats.observe({"type": "rest.call", "ts": T0, "latency_s": latency, "retries": n % 2})
    health = stats.health()
    assert health.latency_source == "rest"
    assert health.p95_latency_s == 0.2
    assert health.retry_ratio == pytest.approx(1 / 3)
