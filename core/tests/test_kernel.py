"""The kernel through real parts: the sim broker, a real SQLite store, both drivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.domain import (
    Action,
    Candle,
    Decision,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SignalValue,
    TimeInForce,
    TradingState,
)
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.events import Event, FillReceived, OrderRejected
from gpt_trader.domain.market import NS
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.errors import BrokerError
from gpt_trader.runtime.live import StopRequest
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, sample_csv

T0 = FROZEN_TS
BTC = "BTC-USD"


def bar(o: str, h: str, lo: str, c: str, v: str = "10", n: int = 0) -> Candle:
    return Candle(BTC, T0 + n * 60 * NS, D(o), D(h), D(lo), D(c), D(v), 60)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Crossing:
    """LONG when the close crosses above `level`, FLAT when it crosses below (with compute)."""

    name = "test.cross"

    def __init__(self, level: float) -> None:
        self.level = level
        self.above: bool | None = None

    def update(self, event: Any) -> SignalValue | None:
        if not isinstance(event, Candle):
            return None
        above = float(event.close) > self.level
        was, self.above = self.above, above
        if was is None or was == above:
            return None
        return SignalValue(
            self.name, event.symbol, event.close_ts, Action.LONG if above else Action.FLAT
        )

    def compute(self, bars: BarSeries) -> Sequence[int]:
        out, was = [], None
        for close in bars.close:
            above = close > self.level
            out.append(
                NO_SIGNAL
                if was is None or was == above
                else int(Action.LONG if above else Action.FLAT)
            )
            was = above
        return out


class FirstVote:
    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        return Decision(symbol, ts, votes[0].action, 1.0, tuple(votes)) if votes else None


class Fixed:
    def __init__(self, size: str) -> None:
        self.amount = D(size)

    def size(self, decision: Decision, state: Any) -> D:
        return self.amount


def make_kernel(
    tmp_path: Path,
    *,
    market_fill: str = "immediate",
    cash: str = "100000",
    volume_participation: str | None = None,
    broker: Any = None,
    signals: list[Any] | None = None,
) -> tuple[Kernel, Recorder, Store, SimExchange]:
    products = default_products([BTC])
    exchange = SimExchange(
        products,
        {"USD": D(cash)},
        market_fill=market_fill,  # type: ignore[arg-type]
        volume_participation=None if volume_participation is None else D(volume_participation),
    )
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("run1", "test", "sim", T0)
    rec = Recorder()
    clock = SimClock(T0)
    parts = KernelParts(
        run_id="run1",
        products=products,
        signals={BTC: signals or []},
        voter=FirstVote(),
        sizer=Fixed("0.5"),
        broker=broker or SimBroker(exchange, clock=clock.now),
        journal=store,
        clock=clock,
        sinks=[StoreSink(store, "run1", flush_every=1), rec],
        critical_sinks=frozenset({0}),
    )
    return Kernel(parts), rec, store, exchange


def limit(cid: str, side: Side, size: str, price: str, **kw: Any) -> OrderRequest:
    return OrderRequest(
        cid,
        BTC,
        side,
        D(size),
        OrderType.LIMIT,
        limit_price=D(price),
        time_in_force=kw.pop("tif", TimeInForce.GTC),
        **kw,
    )


async def test_partial_fill_then_fill(tmp_path: Path) -> None:
    kernel, rec, store, _ = make_kernel(tmp_path, volume_participation="0.5")
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    order = await kernel.submit(limit("c1", Side.BUY, "4", "99.50"))
    assert order is not None
    assert order.status is OrderStatus.OPEN
    # trades through 99.50 with volume 4: half of it (2) may fill us
    await kernel.on_market(bar("99.6", "99.7", "99", "99.2", v="4", n=1))
    assert kernel.orders["c1"].status is OrderStatus.PARTIALLY_FILLED
    assert kernel.positions[BTC].size == D("2")
    await kernel.on_market(bar("99.4", "99.4", "98", "98.5", v="10", n=2))
    assert kernel.orders["c1"].status is OrderStatus.FILLED
    assert kernel.positions[BTC].size == D("4")
    # the second half fills at the bar's open (99.4), which gapped through the limit
    assert kernel.positions[BTC].avg_entry_price == D("99.45")
    fills = rec.of(FillReceived)
    assert [f.fill.size for f in fills] == [D("2"), D("2")]
    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    assert store.order("c1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert len(store.fills()) == 2


async def test_cancel_and_expiry(tmp_path: Path) -> None:
    kernel, _, store, _ = make_kernel(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    await kernel.submit(limit("gtc", Side.BUY, "1", "90"))
    end = T0 + 3 * 60 * NS
    await kernel.submit(limit("gtd", Side.BUY, "1", "91", tif=TimeInForce.GTD, end_ts=end))
    result = await kernel.broker.cancel(["gtc"])
    assert result == {"gtc": True}
    assert kernel.orders["gtc"].status is OrderStatus.CANCELLED
    for n in range(1, 5):
        await kernel.on_market(bar("100", "101", "99", "100", n=n))
    assert kernel.orders["gtd"].status is OrderStatus.EXPIRED
    assert not kernel.open_orders
    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    assert {o.client_order_id: o.status for o in store.orders()} == {
        "gtc": OrderStatus.CANCELLED,
        "gtd": OrderStatus.EXPIRED,
    }


async def test_reject_for_insufficient_funds_is_recorded(tmp_path: Path) -> None:
    kernel, rec, store, _ = make_kernel(tmp_path, cash="10")
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    order = await kernel.submit(limit("big", Side.BUY, "1", "100"))
    assert order is not None
    assert order.status is OrderStatus.REJECTED
    assert "INSUFFICIENT" in order.reject_reason
    (rejected,) = rec.of(OrderRejected)
    assert rejected.source == "venue"
    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    assert store.order("big").status is OrderStatus.REJECTED  # type: ignore[union-attr]


class AmbiguousBroker(SimBroker):
    """The venue takes the order, then the answer is lost (a timeout after acceptance)."""

    def __init__(self, *args: Any, reach_venue: bool, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.reach_venue = reach_venue
        self.submits = 0

    async def submit(self, request: OrderRequest) -> Order:
        self.submits += 1
        if self.reach_venue:
            # The venue fills it, but neither the reply nor the user channel reaches us now.
            listener, self._listener = self._listener, None
            await super().submit(request)
            self._listener, self._backlog = listener, []
        raise BrokerError("timeout after 10 s")


@pytest.mark.parametrize(
    ("reach_venue", "final"), [(True, OrderStatus.FILLED), (False, OrderStatus.REJECTED)]
)
async def test_unknown_outcome_is_resolved_by_lookup_never_resent(
    tmp_path: Path, reach_venue: bool, final: OrderStatus
) -> None:
    products = default_products([BTC])
    exchange = SimExchange(products, {"USD": D(100_000)})
    clock = SimClock(T0)
    broker = AmbiguousBroker(exchange, clock=clock.now, reach_venue=reach_venue)
    kernel, _, store, _ = make_kernel(tmp_path, broker=broker)
    kernel.clock = clock
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    request = OrderRequest("amb", BTC, Side.BUY, D("0.1"))
    order = await kernel.submit(request)
    assert order is not None
    assert order.status is OrderStatus.UNKNOWN
    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    assert store.order("amb").status is OrderStatus.UNKNOWN  # type: ignore[union-attr]
    await kernel.on_timer()
    assert kernel.orders["amb"].status is final
    assert broker.submits == 1
    # a fill the user channel never delivered is backfilled from the venue, once
    assert kernel.positions[BTC].size == (D("0.1") if reach_venue else 0)
    await kernel.on_timer()
    assert len(store.fills()) == (1 if reach_venue else 0)
    assert len([o for o in exchange.orders() if o.client_order_id == "amb"]) == (
        1 if reach_venue else 0
    )


async def test_intent_is_in_the_store_before_the_broker_sees_it(tmp_path: Path) -> None:
    seen: list[OrderStatus | None] = []

    class Checking(SimBroker):
        async def submit(self, request: OrderRequest) -> Order:
            with Store(tmp_path / "gpt_trader.db") as other:
                row = other.order(request.client_order_id)
                seen.append(None if row is None else row.status)
            return await super().submit(request)

    products = default_products([BTC])
    broker = Checking(SimExchange(products, {"USD": D(100_000)}))
    kernel, _, _, _ = make_kernel(tmp_path, broker=broker)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    await kernel.submit(OrderRequest("c-1", BTC, Side.BUY, D("0.1")))
    assert seen == [OrderStatus.PENDING]


async def test_pnl_matches_hand_computation(tmp_path: Path) -> None:
    kernel, _, _, _ = make_kernel(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "100", "100", "100", n=0))
    await kernel.submit(OrderRequest("b", BTC, Side.BUY, D("2")))
    await kernel.on_market(bar("110", "110", "110", "110", n=1))
    await kernel.submit(OrderRequest("s", BTC, Side.SELL, D("2")))
    buy, sell = kernel.orders["b"], kernel.orders["s"]
    # immediate fills at the last price; taker fee 0.6 % of notional, to the cent
    assert (buy.avg_fill_price, sell.avg_fill_price) == (D("100"), D("110"))
    assert kernel.ledger.realized_pnl == D("20")
    assert kernel.ledger.fees == D("1.20") + D("1.32")
    assert kernel.cash == D("100000") - D("200") - D("1.20") + D("220") - D("1.32")
    summary = kernel.summary()
    assert summary["pnl"]["net"] == "17.48"


async def test_halted_kernel_sends_nothing_and_reduce_only_only_reduces(tmp_path: Path) -> None:
    kernel, rec, _, exchange = make_kernel(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "100", "100", "100", n=0))
    await kernel.submit(OrderRequest("b1", BTC, Side.BUY, D("1")))
    kernel._tighten(TradingState.REDUCE_ONLY, "test")
    assert await kernel.submit(OrderRequest("b2", BTC, Side.BUY, D("1"))) is None
    assert (await kernel.submit(OrderRequest("s1", BTC, Side.SELL, D("0.5")))) is not None
    kernel._tighten(TradingState.HALTED, "test")
    kernel._tighten(TradingState.REDUCE_ONLY, "cannot loosen")
    assert kernel.trading_state is TradingState.HALTED
    assert await kernel.submit(OrderRequest("s2", BTC, Side.SELL, D("0.5"))) is None
    assert [o.client_order_id for o in exchange.orders()] == ["b1", "s1"]
    assert len(rec.of(OrderRejected)) == 2


async def _orders_via(path: str, tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """Run the sample CSV through one driver; return (side, size, fill price, fill ts) per fill."""
    from gpt_trader.runtime.live import Bounds, run_live
    from gpt_trader.runtime.replay import run_events, run_series

    feed = CsvCandleFeed(sample_csv(), symbol=BTC)
    closes = [float(c.close) for c in feed.events([BTC])]
    level = sorted(closes)[len(closes) // 2]
    kernel, rec, _, _ = make_kernel(
        tmp_path / path, market_fill="next_open", signals=[Crossing(level)]
    )
    (tmp_path / path).mkdir(exist_ok=True)
    await kernel.start()
    clock = kernel.clock
    assert isinstance(clock, SimClock)
    if path == "events":
        await run_events(kernel, clock, feed.events([BTC]), guard_interval_s=60)
    elif path == "vectorised":
        await run_series(kernel, clock, feed.bar_series([BTC])[0])
    else:
        import asyncio

        await run_live(
            kernel, feed, [BTC], bounds=Bounds(), stop=asyncio.Event(), guard_interval_s=3600
        )
    return [
        (f.fill.side.value, str(f.fill.size), str(f.fill.price), str(f.fill.ts))
        for f in rec.of(FillReceived)
    ]


async def test_live_and_replay_drivers_give_the_same_orders(tmp_path: Path) -> None:
    for name in ("events", "vectorised", "live"):
        (tmp_path / name).mkdir()
    replayed = await _orders_via("events", tmp_path)
    vectorised = await _orders_via("vectorised", tmp_path)
    live = await _orders_via("live", tmp_path)
    assert len(replayed) > 10
    assert vectorised == replayed
    assert live == replayed


class StopsOnTheFirstBar:
    """A feed whose first bar comes with a stop request (an operator's stop, or SIGTERM's
    handler, ran while the kernel handled it): the run must give the stop's reason, not
    say that the feed ended."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Candle]:
        while True:
            if isinstance(self.stop, StopRequest):
                self.stop.request("operator: stop")
            else:
                self.stop.set()
            yield bar("1", "1", "1", "1")


@pytest.mark.parametrize("kind", ["operator", "signal"])
async def test_a_stop_that_comes_while_an_event_is_handled_is_the_reason(
    tmp_path: Path, kind: str
) -> None:
    from gpt_trader.runtime import live

    kernel, _, store, _ = make_kernel(tmp_path)
    await kernel.start()
    stop = StopRequest() if kind == "operator" else asyncio.Event()
    reason = await live.run_live(kernel, StopsOnTheFirstBar(stop), [BTC], bounds=live.Bounds(),
                                 stop=stop, guard_interval_s=3600)  # fmt: skip
    assert reason == ("operator: stop" if kind == "operator" else "signal")
    assert kernel.events_processed == 1
    store.close()


class LosesOneCancel:
    """A feed of a venue that is gone (it yields nothing) whose read loses the first cancel
    it gets, as one built on Python 3.11's ``asyncio.wait_for`` can."""

    def __init__(self) -> None:
        self.cancels = 0

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Candle]:
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancels += 1
                if self.cancels > 1:
                    raise
        yield bar("1", "1", "1", "1")  # never: an async generator, as feeds are


@pytest.mark.parametrize("bound", ["duration", "signal"])
async def test_live_driver_stops_when_the_feed_loses_the_cancel(
    tmp_path: Path, bound: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from gpt_trader.runtime import live

    monkeypatch.setattr(live, "CANCEL_GRACE_S", 0.1)  # the grace given, not what is tested
    kernel, _, store, _ = make_kernel(tmp_path)
    await kernel.start()
    feed, stop = LosesOneCancel(), asyncio.Event()
    if bound == "signal":
        asyncio.get_running_loop().call_later(0.05, stop.set)  # SIGTERM's handler
    bounds = live.Bounds(duration_s=0.05 if bound == "duration" else None)
    # The outer bound only turns a hang of the old driver into a failure below.
    async with asyncio.timeout(30):
        reason = await live.run_live(kernel, feed, [BTC], bounds=bounds, stop=stop,
                                     guard_interval_s=3600)  # fmt: skip
    assert reason == bound
    assert feed.cancels == 1, "the driver waited for the feed until the outer bound cancelled it"
    said = [r.getMessage() for r in caplog.records if r.name == "gpt_trader.runtime"]
    assert said == ["the feed did not stop within 0.1s of being cancelled; stopping without it"]
    # What asyncio.run does at the end of a run: cancel what is left, this time for good.
    left = asyncio.all_tasks() - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    assert feed.cancels == 2
    store.close()


def test_build_context_for_symbol_keeps_everything_else() -> None:
    ctx = BuildContext("p", "sim", (BTC,), {}, Path("."), seed=3)
    assert ctx.for_symbol(BTC).symbol == BTC
    assert ctx.for_symbol(BTC).seed == 3
    spec = ComponentSpec("x", Kind.SIZER, lambda p, c: c.seed)
    assert spec.build({}, ctx) == 3


async def test_a_running_bot_records_its_equity_at_start_then_while_it_moves(
    tmp_path: Path,
) -> None:
    from gpt_trader.domain.events import EquityMarked

    kernel, rec, store, _ = make_kernel(tmp_path)
    kernel.parts.equity_every_s = 5.0
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", n=0))
    (first,) = rec.of(EquityMarked)
    assert (first.cash, first.equity, first.currency) == (D(100000), D(100000), "USD")
    await kernel.on_timer()
    assert len(rec.of(EquityMarked)) == 1, "nothing moved: nothing recorded"
    await kernel.submit(OrderRequest("buy", BTC, Side.BUY, D("1")))
    await kernel.on_timer()
    assert len(rec.of(EquityMarked)) == 1, "moved, but within equity_every_s of the last"
    kernel.clock.advance_to(T0 + 5 * NS)  # type: ignore[attr-defined]
    await kernel.on_timer()
    last = rec.of(EquityMarked)[-1]
    assert last.ts == T0 + 5 * NS
    assert last.cash == kernel.ledger.cash < first.cash
    assert last.equity == kernel.ledger.equity
    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    stored = store.db.execute("SELECT count(*) FROM events WHERE type = 'equity.marked'")
    assert stored.fetchone()[0] == 2
