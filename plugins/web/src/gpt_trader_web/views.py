"""What the API answers: pydantic models built from the monitor's reading of the store.

Money, prices and sizes are exact decimal strings already on their increment (the
monitor quantises them); times are integer nanoseconds since the epoch, UTC, plus an ISO
text where a person reads them. These models are the API's contract: the OpenAPI document
(:mod:`gpt_trader_web.schema`) is generated from them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from gpt_trader.domain import money
from gpt_trader.monitor.daily import DayPnl
from gpt_trader.monitor.reader import Dashboard
from gpt_trader.store.rows import RunRow
from pydantic import BaseModel, ConfigDict

NS = 1_000_000_000


def iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts / NS, tz=UTC).isoformat(timespec="seconds")


def optional(value: Decimal | None) -> str | None:
    return None if value is None else money.text(value)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Banner(_Model):
    level: str
    text: str


class State(_Model):
    """The bot's trading state and everything that holds its entries back."""

    run_id: str | None
    profile: str | None
    mode: str | None
    running: bool
    trading_state: str
    state_reason: str
    entries_paused: bool
    pause_reason: str
    pending_actions: list[str]
    banners: list[Banner]
    connections: dict[str, str]
    data_level: str
    error: str


class PositionView(_Model):
    symbol: str
    size: str
    avg_entry: str
    mark: str
    unrealized: str
    realized: str
    account: str | None
    stop: str | None
    target: str | None


class OrderView(_Model):
    client_order_id: str
    symbol: str
    side: str
    size: str
    price: str | None
    status: str
    filled: str
    age_s: float
    stop: str | None
    tag: str


class FillView(_Model):
    ts: int
    time: str | None
    symbol: str
    side: str
    size: str
    price: str
    fee: str


class TripView(_Model):
    ts: int
    time: str | None
    guard: str
    severity: str
    stage: str
    message: str


class AlertView(_Model):
    when: str
    severity: str
    source: str
    message: str


class FreshnessView(_Model):
    symbol: str
    price: str | None
    age_s: float
    level: str


class DayPnlView(_Model):
    day: str
    symbol: str
    realized: str
    fees: str
    net: str
    fills: int


class PnlView(_Model):
    """The current run's P&L by kind, each product's and each day's (all runs)."""

    totals: dict[str, str]
    by_product: dict[str, str]
    by_day: list[DayPnlView]
    equity: str | None
    # When a running bot recorded that equity (ISO, UTC); None for a finished run's.
    equity_at: str | None
    exposure: str
    series: list[float]


class RunView(_Model):
    run_id: str
    profile: str
    mode: str
    started: str | None
    stopped: str | None
    stop_reason: str


class DashboardView(_Model):
    """Everything the page shows, in one answer."""

    now: int
    state: State
    positions: list[PositionView]
    orders: list[OrderView]
    fills: list[FillView]
    fill_count: int
    pnl: PnlView
    trips: list[TripView]
    alerts: list[AlertView]
    freshness: list[FreshnessView]
    runs: list[RunView]


class ControlResult(_Model):
    action: str
    id: int
    reason: str


class ApiError(_Model):
    error: str


def state_of(data: Dashboard) -> State:
    run = data.run
    return State(
        run_id=run.run_id if run else None,
        profile=run.profile if run else None,
        mode=run.mode if run else None,
        running=run is not None and not run.finished,
        trading_state=data.trading_state,
        state_reason=data.state_reason,
        entries_paused=data.entries_paused,
        pause_reason=data.pause_reason,
        pending_actions=list(data.pending_actions),
        banners=[Banner(level=lvl, text=text) for lvl, text in data.banners()],
        connections=dict(data.connections),
        data_level=data.data_level,
        error=data.error,
    )


def positions_of(data: Dashboard) -> list[PositionView]:
    return [
        PositionView(
            symbol=p.symbol,
            size=money.text(p.size),
            avg_entry=money.text(p.avg_entry),
            mark=money.text(p.mark),
            unrealized=money.text(p.unrealized),
            realized=money.text(p.realized),
            account=optional(p.account),
            stop=optional(p.stop),
            target=optional(p.target),
        )
        for p in data.positions
    ]


def orders_of(data: Dashboard) -> list[OrderView]:
    return [
        OrderView(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side,
            size=money.text(o.size),
            price=optional(o.price),
            status=o.status,
            filled=money.text(o.filled),
            age_s=round(o.age_s, 1),
            stop=optional(o.stop),
            tag=o.tag,
        )
        for o in data.open_orders
    ]


def fills_of(data: Dashboard) -> list[FillView]:
    return [
        FillView(
            ts=f.ts,
            time=iso(f.ts),
            symbol=f.symbol,
            side=f.side,
            size=money.text(f.size),
            price=money.text(f.price),
            fee=money.text(f.fee),
        )
        for f in data.fills
    ]


def pnl_of(data: Dashboard, days: list[DayPnl]) -> PnlView:
    return PnlView(
        totals={kind: money.text(value) for kind, value in data.pnl.items()},
        by_product={p.symbol: money.text(p.realized + p.unrealized) for p in data.positions},
        by_day=[
            DayPnlView(
                day=d.day,
                symbol=d.symbol,
                realized=money.text(d.realized),
                fees=money.text(d.fees),
                net=money.text(d.net),
                fills=d.fills,
            )
            for d in days
        ],
        equity=optional(data.equity),
        equity_at=iso(data.equity_ts),
        exposure=money.text(data.exposure),
        series=list(data.pnl_series),
    )


def runs_of(runs: list[RunRow]) -> list[RunView]:
    return [
        RunView(
            run_id=r.run_id,
            profile=r.profile,
            mode=r.mode,
            started=iso(r.started_ts),
            stopped=iso(r.stopped_ts),
            stop_reason=r.stop_reason,
        )
        for r in reversed(runs)
    ]


def dashboard_of(data: Dashboard, days: list[DayPnl], runs: list[RunRow]) -> DashboardView:
    return DashboardView(
        now=data.now,
        state=state_of(data),
        positions=positions_of(data),
        orders=orders_of(data),
        fills=fills_of(data),
        fill_count=data.fill_count,
        pnl=pnl_of(data, days),
        trips=[
            TripView(
                ts=t.ts,
                time=iso(t.ts),
                guard=t.guard,
                severity=t.severity,
                stage=t.stage,
                message=t.message,
            )
            for t in data.trips
        ],
        alerts=[
            AlertView(when=a.when, severity=a.severity, source=a.source, message=a.message)
            for a in data.alerts
        ],
        freshness=[
            FreshnessView(
                symbol=f.symbol, price=optional(f.price), age_s=round(f.age_s, 1), level=f.level
            )
            for f in data.freshness
        ],
        runs=runs_of(runs),
    )
