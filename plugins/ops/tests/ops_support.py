"""Shared helpers for the ops tests: a plugin manager with the plugins a dev-like profile
needs, such a profile, free ports, a settable clock, and plain event builders."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from gpt_trader.config import BotConfig
from gpt_trader.domain import (
    Fill,
    GuardResult,
    InventoryAdjustment,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Severity,
    Side,
    TimeInForce,
    TradingState,
)
from gpt_trader.domain.events import (
    ComponentFailed,
    FillReceived,
    GuardTripped,
    InventoryAdjusted,
    OrderIntent,
    OrderRejected,
    OrderUpdated,
    RunStopped,
    TradingStateChanged,
)
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.runtime.live import Bounds, run_live
from gpt_trader.testing import FlipStrategy

NS = 1_000_000_000
T0 = 1_735_689_600 * NS  # 2025-01-01T00:00:00Z


def plugin_manager() -> PluginManager:
    from gpt_trader import builtin
    from gpt_trader.sim import plugin as sim_plugin
    from gpt_trader_ops import plugin as ops_plugin

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(builtin, "core")
    pm.register_plugin(sim_plugin, "sim")
    pm.register_plugin(FlipStrategy(), "test-strategy")
    pm.register_plugin(ops_plugin, "ops")
    return pm


def dev_config(
    *,
    sinks: list[dict[str, Any]] | None = None,
    pace_s: float = 0.0,
    broker: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> BotConfig:
    """The dev profile's shape, short: three symbols, a signal that trades often.
    ``broker`` and ``run`` add settings (account holdings, adoptions)."""
    return BotConfig(
        profile={"name": "devlike", "mode": "sim", "universe": ["BTC-USD", "ETH-USD", "SOL-USD"]},
        broker={
            "use": "sim",
            "starting_cash": "100000",
            "market_fill": "immediate",
            **(broker or {}),
        },
        feed={"use": "synthetic", "interval_s": 60, "pace_s": pace_s},
        signals=[{"use": "test.flip", "period": 4}],
        voter={"use": "test.first"},
        sizer={"use": "fixed", "notional": "100"},
        sinks=sinks or [],
        run={"guard_interval_s": 0.05, "record_market": True, **(run or {})},
    )


async def drive(runtime: Any, max_events: int, stop: asyncio.Event | None = None) -> None:
    """Run a started runtime's feed through its kernel for ``max_events`` events."""
    await run_live(
        runtime.kernel,
        runtime.feed,
        runtime.symbols,
        bounds=Bounds(max_events=max_events),
        stop=stop or asyncio.Event(),
        guard_interval_s=0.05,
    )


async def until(cond: Callable[[], bool], within_s: float = 20.0) -> None:
    """Wait, yielding to the loop, until ``cond()`` is true; fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """Seconds, advanced by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def request(cid: str = "c1", symbol: str = "BTC-USD", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        size=Decimal("0.01"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("100"),
        time_in_force=TimeInForce.GTC,
    )


def order(
    cid: str = "c1",
    status: OrderStatus = OrderStatus.OPEN,
    symbol: str = "BTC-USD",
    created_ts: int = T0,
    reject_reason: str = "",
    tag: str = "",
) -> Order:
    return Order(
        client_order_id=cid,
        symbol=symbol,
        side=Side.BUY,
        size=Decimal("0.01"),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        status=status,
        limit_price=Decimal("100"),
        created_ts=created_ts,
        updated_ts=created_ts,
        reject_reason=reject_reason,
        tag=tag,
    )


def intent(cid: str, ts: int = T0) -> OrderIntent:
    return OrderIntent(ts, request(cid))


def updated(cid: str, status: OrderStatus, ts: int = T0, **kw: Any) -> OrderUpdated:
    return OrderUpdated(ts, order(cid, status, **kw))


def rejected(cid: str, source: str = "venue", reason: str = "INSUFFICIENT_FUND") -> OrderRejected:
    return OrderRejected(T0, request(cid), reason, source)


def fill(trade_id: str = "t1", symbol: str = "BTC-USD", price: str = "100") -> FillReceived:
    return FillReceived(
        T0,
        Fill(
            trade_id=trade_id,
            client_order_id="c1",
            order_id="o1",
            symbol=symbol,
            side=Side.BUY,
            price=Decimal(price),
            size=Decimal("0.5"),
            fee=Decimal("0.3"),
            liquidity=Liquidity.TAKER,
            ts=T0,
        ),
        Decimal(0),
    )


def trip(
    guard: str = "max_drawdown",
    severity: Severity = Severity.CRITICAL,
    state: TradingState = TradingState.REDUCE_ONLY,
    message: str = "drawdown 12% >= 10%",
) -> GuardTripped:
    result = GuardResult(guard, severity, message, action=state)
    return GuardTripped(T0, result, "runtime", state)


def state_change(new: TradingState, operator: bool = False) -> TradingStateChanged:
    return TradingStateChanged(T0, TradingState.ACTIVE, new, "test", operator)


def stopped(reason: str = "signal") -> RunStopped:
    return RunStopped(T0, "run-1", reason, {})


def adjusted(
    kind: str, size: str, inventory: str, account: str | None, symbol: str = "BTC-USD"
) -> InventoryAdjusted:
    """The kernel's event when the bot's spot inventory changes other than by its fills."""
    adjustment = InventoryAdjustment(T0, symbol, kind, Decimal(size), Decimal("60000"), kind)
    held = None if account is None else Decimal(account)
    return InventoryAdjusted(T0, adjustment, Decimal(inventory), held)


def failed(component: str, error: str) -> ComponentFailed:
    return ComponentFailed(T0, component, error)


def connection(component: str, status: str, detail: str = "") -> dict[str, Any]:
    """A venue adapter's ``connection.status`` event, as the store keeps its payload."""
    return {
        "type": "connection.status",
        "ts": T0,
        "component": component,
        "status": status,
        "detail": detail,
    }


def rest_call(
    method: str,
    path: str,
    status: int,
    latency_s: float,
    remaining: int | None = None,
    limit: int | None = None,
    retries: int = 0,
) -> dict[str, Any]:
    """A venue adapter's ``rest.call`` event, as the store keeps its payload."""
    return {
        "type": "rest.call",
        "ts": T0,
        "method": method,
        "path": path,
        "status": status,
        "latency_s": latency_s,
        "rate_limit_remaining": remaining,
        "rate_limit_limit": limit,
        "retries": retries,
    }


class FakeState:
    """What check_state reads from a kernel."""

    def __init__(self) -> None:
        self.trading_state = TradingState.ACTIVE
        self.now = T0
        self.equity = Decimal(10_000)
        self.positions: dict[str, Position] = {}
        self.open_orders: list[Order] = []
