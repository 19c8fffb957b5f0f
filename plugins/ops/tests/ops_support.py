"""Shared helpers for the ops tests: a plugin manager with the plugins a dev-like profile
needs, such a profile, free ports, a settable clock, and plain event builders."""

from __future__ import annotations

import socket
from decimal import Decimal
from typing import Any

from gpt_trader.config import BotConfig
from gpt_trader.domain import (
    Fill,
    GuardResult,
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
    OrderIntent,
    OrderRejected,
    OrderUpdated,
    RunStopped,
    TradingStateChanged,
)
from gpt_trader.plugins import PluginManager, make_plugin_manager
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


def dev_config(*, sinks: list[dict[str, Any]] | None = None, pace_s: float = 0.0) -> BotConfig:
    """The dev profile's shape, short: three symbols, a signal that trades often."""
    return BotConfig(
        profile={"name": "devlike", "mode": "sim", "universe": ["BTC-USD", "ETH-USD", "SOL-USD"]},
        broker={"use": "sim", "starting_cash": "100000", "market_fill": "immediate"},
        feed={"use": "synthetic", "interval_s": 60, "pace_s": pace_s},
        signals=[{"use": "test.flip", "period": 4}],
        voter={"use": "test.first"},
        sizer={"use": "sizer.fixed", "notional": "100"},
        sinks=sinks or [],
        run={"guard_interval_s": 0.05, "record_market": True},
    )


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
    guard: str = "guard.max_drawdown",
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


def failed(component: str, error: str) -> ComponentFailed:
    return ComponentFailed(T0, component, error)


class FakeState:
    """What check_state reads from a kernel."""

    def __init__(self) -> None:
        self.trading_state = TradingState.ACTIVE
        self.now = T0
        self.equity = Decimal(10_000)
        self.positions: dict[str, Position] = {}
        self.open_orders: list[Order] = []
