"""Stores for the dashboard tests, written with the real Store API into tmp_path, and a
plugin manager for an in-process dev-like run (with its own tiny strategy, so the tests need
no strategies distribution)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.app import Runtime, assemble, finish, start
from gpt_trader.config import BotConfig
from gpt_trader.domain import (
    Fill,
    GuardResult,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Severity,
    Side,
    Ticker,
    TimeInForce,
    TradingState,
)
from gpt_trader.domain.events import (
    ComponentFailed,
    EntriesPaused,
    Event,
    FillReceived,
    GuardTripped,
    MarketData,
    OrderIntent,
    OrderUpdated,
    RunStarted,
    TradingStateChanged,
)
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.runtime.live import Bounds, run_live
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store
from gpt_trader.testing import FlipStrategy

NS = 1_000_000_000
NOW = 1_735_732_800 * NS  # 2025-01-01T12:00:00Z: the frozen clock of the snapshots
RUN_ID = "20250101T110000-abc123"
PRICES = {"BTC-USD": "94250.50", "ETH-USD": "3350.25", "SOL-USD": "189.40"}


def _ticker(symbol: str, ts: int) -> MarketData:
    p = Decimal(PRICES[symbol])
    return MarketData(ts, Ticker(symbol, ts, p, p - Decimal("0.05"), p + Decimal("0.05")))


def _fill(n: int, symbol: str, side: Side, size: str, price: str, ts: int) -> Fill:
    return Fill(
        trade_id=f"t{n}",
        client_order_id=f"{RUN_ID}-{n:06d}",
        order_id=f"o{n}",
        symbol=symbol,
        side=side,
        price=Decimal(price),
        size=Decimal(size),
        fee=Decimal("0.60"),
        liquidity=Liquidity.TAKER,
        ts=ts,
    )


def build_store(state_dir: Path, scenario: str) -> Path:
    """A running bot's store: ``fresh``, ``stale`` (old and missing data) or ``halted``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    start = NOW - 3600 * NS
    store = Store(state_dir / "gpt_trader.db")
    store.start_run(RUN_ID, "canary", "live", start)
    store.save_products(default_products(["BTC-USD", "ETH-USD", "SOL-USD"]).values(), start)
    events: list[Event] = [RunStarted(start, RUN_ID, "canary", "live")]
    trades = [
        (1, "BTC-USD", Side.BUY, "0.01", "93000.00"),
        (2, "ETH-USD", Side.BUY, "0.5", "3300.00"),
        (3, "BTC-USD", Side.SELL, "0.01", "93800.00"),
        (4, "BTC-USD", Side.BUY, "0.02", "94000.00"),
        (5, "SOL-USD", Side.BUY, "2", "195.00"),
    ]
    realized = {3: Decimal("8.00")}
    for i, (n, symbol, side, size, price) in enumerate(trades):
        ts = start + (i + 1) * 300 * NS
        request = OrderRequest(
            client_order_id=f"{RUN_ID}-{n:06d}",
            symbol=symbol,
            side=side,
            size=Decimal(size),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
        )
        store.record_intent(request, ts)
        events.append(OrderIntent(ts, request))
        order = Order.from_request(request, ts)
        order.status = OrderStatus.FILLED
        order.filled_size = Decimal(size)
        order.avg_fill_price = Decimal(price)
        order.updated_ts = ts + 150_000_000  # acknowledged 150 ms later
        store.upsert_order(order, RUN_ID)
        events.append(OrderUpdated(ts + 150_000_000, order))
        fill = _fill(n, symbol, side, size, price, ts + 150_000_000)
        store.add_fill(fill, RUN_ID)
        events.append(FillReceived(fill.ts, fill, realized.get(n, Decimal(0))))
    # one resting limit order
    resting = OrderRequest(
        client_order_id=f"{RUN_ID}-000006",
        symbol="ETH-USD",
        side=Side.BUY,
        size=Decimal("0.25"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("3200.00"),
        time_in_force=TimeInForce.GTC,
    )
    placed = NOW - 240 * NS
    store.record_intent(resting, placed)
    events.append(OrderIntent(placed, resting))
    order = Order.from_request(resting, placed)
    order.status = OrderStatus.OPEN
    order.updated_ts = placed + 200_000_000
    store.upsert_order(order, RUN_ID)
    events.append(OrderUpdated(order.updated_ts, order))

    ages = {"BTC-USD": 2, "ETH-USD": 3, "SOL-USD": 4}
    if scenario == "stale":
        ages = {"BTC-USD": 2, "ETH-USD": 18, "SOL-USD": 75}
    for symbol, age in ages.items():
        events.append(_ticker(symbol, NOW - age * NS))
    events.append(
        GuardTripped(
            NOW - 900 * NS,
            GuardResult("max_position", Severity.RECOVERABLE, "BTC-USD 0.03 > max 0.02"),
            "pre_trade",
            TradingState.ACTIVE,
        )
    )
    if scenario == "stale":
        events.append(ComponentFailed(NOW - 70 * NS, "signal:rsi:SOL-USD", "ValueError: no data"))
        # The Coinbase feed holds entries back while its market data is silent.
        silent = "coinbase: market data connection silent"
        events.append(EntriesPaused(NOW - 15 * NS, True, silent))
    if scenario == "halted":
        message = "daily loss 12.40 USD exceeds limit 10 USD"
        events.append(
            GuardTripped(
                NOW - 60 * NS,
                GuardResult("daily_loss", Severity.CRITICAL, message, action=TradingState.HALTED),
                "runtime",
                TradingState.HALTED,
            )
        )
        events.append(
            TradingStateChanged(
                NOW - 60 * NS,
                TradingState.ACTIVE,
                TradingState.HALTED,
                f"daily_loss: {message}",
            )
        )
        alert = {
            "rule": "circuit_breaker_open",
            "severity": "critical",
            "message": f"daily_loss tripped (HALTED): {message}",
            "hint": "resume when safe",
            "ts": NOW / NS - 59,
            "time": "2025-01-01T11:59:01+00:00",
            "key": "daily_loss",
            "run_id": RUN_ID,
            "details": {},
        }
        (state_dir / "alerts.jsonl").write_text(json.dumps(alert) + "\n")
    store.append_events(RUN_ID, events)
    store.close()
    return state_dir


def plugin_manager() -> PluginManager:
    from gpt_trader import builtin
    from gpt_trader.sim import plugin as sim_plugin

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(builtin, "core")
    pm.register_plugin(sim_plugin, "sim")
    pm.register_plugin(FlipStrategy(), "test-strategy")
    return pm


def dev_config(
    universe: tuple[str, ...] = ("BTC-USD", "ETH-USD"),
    *,
    broker: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> BotConfig:
    """A dev-like profile; ``broker`` and ``run`` add settings (account holdings, adoptions)."""
    return BotConfig(
        profile={"name": "devlike", "mode": "sim", "universe": list(universe)},
        broker={"use": "sim", "starting_cash": "100000", **(broker or {})},
        feed={"use": "synthetic", "interval_s": 60, "pace_s": 0},
        signals=[{"use": "test.flip"}],
        voter={"use": "test.first"},
        sizer={"use": "fixed", "notional": "100"},
        run=run or {},
    )


async def drive(runtime: Any, max_events: int) -> None:
    """Run a started runtime's feed through its kernel for ``max_events`` events."""
    await run_live(
        runtime.kernel,
        runtime.feed,
        runtime.symbols,
        bounds=Bounds(max_events=max_events),
        stop=asyncio.Event(),
        guard_interval_s=0.05,
    )


@contextlib.asynccontextmanager
async def running_bot(
    state_dir: Path, config: BotConfig | None = None, events: int = 0
) -> AsyncIterator[Runtime]:
    """A dev-like bot started on ``state_dir`` (its own store), fed ``events`` market
    events with everything recorded, and finished when the block ends."""
    runtime = await assemble(config or dev_config(), plugin_manager(), state_dir)
    await start(runtime)
    try:
        if events:
            await drive(runtime, events)
            flush(runtime)
        yield runtime
    finally:
        await finish(runtime, "signal")


def flush(runtime: Any) -> None:
    """Have the run's store sink write what it buffered, as it does within a second."""
    for sink in runtime.kernel.parts.sinks:
        getattr(sink, "flush", lambda: None)()


def screen_text(app: Any, widget_id: str) -> str:
    """What a panel of the running dashboard shows, line by line."""
    widget = app.query_one(f"#{widget_id}")
    return "\n".join(line.text for line in widget.render_lines(widget.region.reset_offset))
