"""The kernel's reconciler through the real sim broker and a real SQLite store: what the
venue reports is applied once, whatever the stream lost or repeated."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

from gpt_trader.domain import Candle, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from gpt_trader.domain.events import FillReceived, InventoryAdjusted
from gpt_trader.domain.market import NS
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.engine.reconciler import Reconciler
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, EventRecorder, manual_kernel

BTC = "BTC-USD"


class LossyBroker(SimBroker):
    """The sim broker with a stream that can drop out: while ``deaf``, every update the
    exchange produces is lost on the way (a dropped user channel). Its reads (``fills``,
    ``open_orders``, ``order``, ``positions``) stay the exchange's truth."""

    @contextlib.contextmanager
    def deaf(self) -> Iterator[None]:
        listener, self._listener = self._listener, None
        try:
            yield
        finally:
            self._listener, self._backlog = listener, []


def bar(o: str, h: str, lo: str, c: str, n: int) -> Candle:
    return Candle(BTC, FROZEN_TS + n * 60 * NS, D(o), D(h), D(lo), D(c), D(10), 60)


def setup(tmp_path: Path) -> tuple[Kernel, LossyBroker, Store, EventRecorder, SimClock]:
    exchange = SimExchange(default_products([BTC]), {"USD": D(100_000)})
    clock = SimClock(FROZEN_TS)
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("r", "test", "sim", FROZEN_TS)
    recorder = EventRecorder()
    kernel = manual_kernel(
        exchange, clock, journal=store, sinks=[StoreSink(store, "r", flush_every=1), recorder]
    )
    broker = LossyBroker(exchange, clock=clock.now)
    kernel.broker = kernel.parts.broker = broker
    return kernel, broker, store, recorder, clock


def resting_buy(cid: str) -> OrderRequest:
    return OrderRequest(
        cid, BTC, Side.BUY, D("0.5"), OrderType.LIMIT, D(95), time_in_force=TimeInForce.GTC
    )


def stored_fills(kernel: Kernel, store: Store) -> list[str]:
    for sink in kernel.parts.sinks:
        if isinstance(sink, StoreSink):
            sink.flush()
    return [f.trade_id for f in store.fills()]


async def test_an_order_that_filled_unheard_is_found_by_the_reconciler_once(
    tmp_path: Path,
) -> None:
    kernel, broker, store, recorder, _ = setup(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", 0))
    assert (await kernel.submit(resting_buy("rest"))).status is OrderStatus.OPEN  # type: ignore[union-attr]
    with broker.deaf():
        await kernel.on_market(bar("96", "97", "90", "92", 1))  # trades through 95
    venue = broker.exchange.fills()
    assert venue, "the exchange should have filled the resting buy"
    assert kernel.orders["rest"].status is OrderStatus.OPEN  # the kernel heard nothing
    assert kernel.fills_received == 0

    await kernel.reconcile_now()

    assert kernel.orders["rest"].status is OrderStatus.FILLED
    assert kernel.positions[BTC].size == D("0.5")
    assert kernel.fills_received == len(venue)
    assert kernel.reconciler.stats.fills_recovered == len(venue)
    assert kernel.reconciler.stats.orders_recovered == 1
    assert "rest" not in kernel.working

    await kernel.reconcile_now()  # the same fills and order reported again

    assert kernel.fills_received == len(venue)
    assert kernel.reconciler.stats.fills_recovered == len(venue)
    assert kernel.positions[BTC].size == D("0.5")
    assert len(recorder.of(FillReceived)) == len(venue)
    assert sorted(stored_fills(kernel, store)) == sorted(f.trade_id for f in venue)
    store.close()


async def test_a_fill_reported_again_is_applied_once(tmp_path: Path) -> None:
    kernel, broker, store, recorder, _ = setup(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", 0))
    await kernel.submit(OrderRequest("mkt", BTC, Side.BUY, D("0.25")))
    heard = kernel.fills_received
    assert heard >= 1
    cash = kernel.cash

    for _ in range(2):
        await kernel.reconcile_now()

    assert kernel.fills_received == heard
    assert kernel.reconciler.stats.fills_recovered == 0
    assert kernel.reconciler.stats.runs == 2
    assert kernel.positions[BTC].size == D("0.25")
    assert kernel.cash == cash
    assert len(recorder.of(FillReceived)) == heard
    assert len(stored_fills(kernel, store)) == heard == len(broker.exchange.fills())
    store.close()


async def test_the_timer_reconciles_once_the_interval_has_passed(tmp_path: Path) -> None:
    kernel, broker, store, _, clock = setup(tmp_path)
    kernel.reconciler = Reconciler(kernel, interval_s=30.0)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", 0))
    await kernel.submit(resting_buy("rest"))
    with broker.deaf():
        await kernel.on_market(bar("96", "97", "90", "92", 1))

    clock.advance_to(FROZEN_TS + 29 * NS)
    await kernel.on_timer()
    assert kernel.reconciler.stats.runs == 0
    assert kernel.orders["rest"].status is OrderStatus.OPEN

    clock.advance_to(FROZEN_TS + 30 * NS)
    await kernel.on_timer()
    assert kernel.reconciler.stats.runs == 1
    assert kernel.orders["rest"].status is OrderStatus.FILLED
    assert kernel.positions[BTC].size == D("0.5")

    await kernel.on_timer()  # not due again yet
    assert kernel.reconciler.stats.runs == 1
    store.close()


async def test_a_broker_without_reports_is_not_reconciled_by_the_timer(tmp_path: Path) -> None:
    kernel, _, store, _, clock = setup(tmp_path)
    await kernel.start()
    assert kernel.reconciler.interval_ns is None  # the sim broker says no interval
    clock.advance_to(FROZEN_TS + 3600 * NS)
    await kernel.on_timer()
    assert kernel.reconciler.stats.runs == 0
    store.close()


async def test_the_reconcile_shrinks_the_inventory_to_a_smaller_balance_once(
    tmp_path: Path,
) -> None:
    kernel, broker, store, recorder, _ = setup(tmp_path)
    await kernel.start()
    await kernel.on_market(bar("100", "101", "99", "100", 0))
    await kernel.submit(OrderRequest("mkt", BTC, Side.BUY, D("0.5")))
    assert kernel.positions[BTC].size == D("0.5")
    await kernel.submit(resting_buy("rest"))  # working: the BTC balance may still move
    broker.exchange._ledger.debit("BTC", D("0.2"))  # the user withdraws behind the bot's back

    await kernel.reconcile_now()
    assert kernel.positions[BTC].size == D("0.5")  # not judged with an order working
    assert not recorder.of(InventoryAdjusted)

    await kernel.broker.cancel(["rest"])
    for _ in range(2):
        await kernel.reconcile_now()

    [shrunk] = recorder.of(InventoryAdjusted)
    assert (shrunk.adjustment.kind, shrunk.adjustment.size) == ("shrunk", D("-0.2"))
    assert kernel.positions[BTC].size == D("0.3")
    assert kernel.holdings[BTC] == D("0.3")
    store.close()
