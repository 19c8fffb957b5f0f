"""The kernel's reconciler over coinbase.spot's reports, against the simulator: an order the
user channel never told the kernel about is found by the reconcile, its fills applied once
however often they are reported."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import OrderStatus
from gpt_trader.store import Store

SIZE = Decimal("0.002")


async def test_an_order_the_stream_missed_is_reconciled_once(sims, cbt, tmp_path, monkeypatch):
    sim = sims(seed=21)
    client = cbt.sdk(sim, monkeypatch)
    # No reconcile but the ones asked for below: neither the timer nor a silence resync.
    config = cbt.bot_config(sim, broker={"reconcile_interval_s": 3600.0, "user_silence_s": 3600.0})
    config.signals.clear()
    state_dir = tmp_path / "bot"
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    try:
        await start(runtime)
        cbt.set_faults(sim, "seed=1,gap=1")  # every user-channel frame is lost from now on
        await asyncio.to_thread(
            client.market_order_buy,
            client_order_id="placed-elsewhere",
            product_id="BTC-USD",
            base_size=str(SIZE),
        )
        venue = [f for f in cbt.exchange_fills(client) if f["product_id"] == "BTC-USD"]
        assert venue, "the venue should have filled the order"
        await asyncio.sleep(0.5)  # what the stream would have told by now, it did not
        assert "placed-elsewhere" not in kernel.orders
        assert kernel.fills_received == 0

        await kernel.reconcile_now()

        order = kernel.orders["placed-elsewhere"]
        assert order.status is OrderStatus.FILLED
        assert kernel.fills_received == len(venue)
        assert kernel.reconciler.stats.fills_recovered == len(venue)
        assert kernel.ledger.positions["BTC-USD"].size == SIZE

        await kernel.reconcile_now()  # the same fills and order reported again

        assert kernel.fills_received == len(venue)
        assert kernel.reconciler.stats.fills_recovered == len(venue)
        assert kernel.ledger.positions["BTC-USD"].size == SIZE
        cbt.set_faults(sim, None)
    finally:
        await finish(runtime, "test")
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        stored = sorted(f.trade_id for f in store.fills())
    finally:
        store.close()
    assert stored == sorted(f["trade_id"] for f in venue)
