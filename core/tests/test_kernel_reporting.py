"""What the kernel tells the outside: one order event per transition, trade ids on the
order rows, money quantised in the summary, a failing filter that fails closed, and a
clock that follows a simulated market's own time."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from gpt_trader.app import assemble, finish, start
from gpt_trader.config import BotConfig
from gpt_trader.domain import (
    Action,
    Decision,
    FilterResult,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Trade,
)
from gpt_trader.domain.events import ComponentFailed, DecisionMade, OrderUpdated
from gpt_trader.engine.clock import SimClock
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, EventRecorder, FlipStrategy, manual_kernel

BTC = "BTC-USD"
NS = 1_000_000_000


def _kernel(tmp_path: Path, **parts: Any) -> tuple[Any, EventRecorder, Store, SimClock]:
    exchange = SimExchange(
        default_products([BTC]), {"USD": D(100_000)}, taker_fee=D("0.006"), seed=1
    )
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("r", "test", "sim", FROZEN_TS)
    rec = EventRecorder()
    clock = SimClock(FROZEN_TS)
    kernel = manual_kernel(
        exchange, clock, journal=store, sinks=[StoreSink(store, "r", flush_every=1), rec], **parts
    )
    return kernel, rec, store, clock


async def _trade(kernel: Any, clock: SimClock, price: str) -> None:
    clock.advance_to(clock.now() + 60 * NS)
    now = clock.now()
    await kernel.on_market(Trade(BTC, now, f"t{now}", D(price), D("5"), "BUY"))


async def test_one_event_per_order_transition_and_trade_ids_on_the_row(tmp_path: Path) -> None:
    kernel, rec, store, clock = _kernel(tmp_path)
    await kernel.start()
    await _trade(kernel, clock, "60000.01")
    order = await kernel.submit(
        OrderRequest("c1", BTC, Side.BUY, D("0.00123457"), OrderType.MARKET)
    )
    assert order is not None
    assert order.status is OrderStatus.FILLED
    statuses = [e.order.status for e in rec.events if isinstance(e, OrderUpdated)]
    assert statuses.count(OrderStatus.FILLED) == 1
    assert len(statuses) == len(set(statuses))  # never the same status twice in a row
    for sink in kernel.parts.sinks:
        getattr(sink, "close", lambda: None)()
    [fill] = store.fills()
    assert store.order("c1").trade_ids == (fill.trade_id,)  # type: ignore[union-attr]
    store.close()


async def test_the_summary_prints_money_on_its_increments(tmp_path: Path) -> None:
    kernel, _, store, clock = _kernel(tmp_path)
    await kernel.start()
    await _trade(kernel, clock, "60000.01")
    await kernel.submit(OrderRequest("c1", BTC, Side.BUY, D("0.00123457"), OrderType.MARKET))
    await _trade(kernel, clock, "60123.37")
    summary = kernel.summary()
    cents = re.compile(r"^-?\d+\.\d{2}$")
    for key in ("realized", "unrealized", "fees", "funding", "net"):
        assert cents.match(summary["pnl"][key]), (key, summary["pnl"][key])
    assert cents.match(summary["equity"])
    assert cents.match(summary["cash"])
    [pos] = summary["positions"]
    assert pos["size"] == "0.00123457"
    assert re.match(r"^\d+\.\d{2}$", pos["avg_entry_price"])  # on the 0.01 tick
    assert cents.match(pos["unrealized_pnl"])
    # Full precision stays inside: the ledger's unrealised P&L has more digits.
    assert kernel.ledger.unrealized_pnl != D(pos["unrealized_pnl"])
    for sink in kernel.parts.sinks:
        getattr(sink, "close", lambda: None)()
    store.close()


class Veto:
    name = "veto"

    def allow(self, decision: Decision, state: Any) -> FilterResult:
        return FilterResult(False, "no entries today")


class Broken:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def allow(self, decision: Decision, state: Any) -> FilterResult:
        self.calls += 1
        raise RuntimeError("feed for the filter is down")


class Long:
    def combine(self, symbol: str, ts: int, votes: Any) -> Decision:
        return Decision(symbol, ts, Action.LONG, 1.0, ())


class Size:
    def size(self, decision: Decision, state: Any) -> D:
        return D("0.01")


async def test_a_failing_filter_blocks_the_entry_and_is_reported_once(tmp_path: Path) -> None:
    broken = Broken()
    kernel, rec, store, clock = _kernel(
        tmp_path, filters=[broken, Veto()], voter=Long(), sizer=Size()
    )
    await kernel.start()
    await _trade(kernel, clock, "60000")
    for _ in range(3):
        await kernel.decide(BTC)
    assert not kernel.orders  # fail closed: no entry got through
    assert broken.calls == 3  # still asked (and still vetoing), still in the list
    assert kernel.parts.filters[0] is broken
    failures = [e for e in rec.events if isinstance(e, ComponentFailed)]
    assert [f.component for f in failures] == ["filter:broken"]
    outcomes = [e.outcome for e in rec.events if isinstance(e, DecisionMade)]
    assert outcomes == ["filtered"] * 3
    for sink in kernel.parts.sinks:
        getattr(sink, "close", lambda: None)()
    store.close()


async def test_the_clock_follows_a_synthetic_market_that_starts_in_the_past(
    tmp_path: Path, plugin_manager: Any, register_plugin: Any
) -> None:
    register_plugin(FlipStrategy(), "flip")
    config = BotConfig(
        voter={"use": "test.first"},
        profile={"name": "past", "mode": "paper", "universe": [BTC]},
        broker={"use": "sim"},
        feed={"use": "synthetic", "start": "2024-03-01T00:00:00", "pace_s": 0},
    )
    runtime = await assemble(config, plugin_manager, tmp_path / "state")
    await start(runtime, hooks=False)
    march_1st = 1_709_251_200 * NS
    assert runtime.kernel.now == march_1st
    async for candle in runtime.feed.stream([BTC]):
        runtime.clock.advance_to(candle.close_ts)
        await runtime.kernel.on_market(candle)
        break
    assert runtime.kernel.now == march_1st + 60 * NS
    await finish(runtime, "test", hooks=False)


async def test_a_run_that_never_received_market_data_says_so(tmp_path: Path) -> None:
    kernel, _, store, clock = _kernel(tmp_path)
    await kernel.start()
    assert kernel.summary()["warnings"] == [
        "no market data was received: the feed never delivered (see the log)"
    ]
    await _trade(kernel, clock, "60000")
    assert kernel.summary()["warnings"] == []
    for sink in kernel.parts.sinks:
        getattr(sink, "close", lambda: None)()
    store.close()
