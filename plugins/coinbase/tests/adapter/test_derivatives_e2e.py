"""The bot on Coinbase derivatives, end to end: the kernel with ``coinbase.cfm`` /
``coinbase.intx`` and ``coinbase.market`` against the simulator over TLS on loopback, a
real store, and the official SDK as an independent view of the venue's ledger.

* CFM: a leveraged futures position opened and closed by the strategy, at the leverage
  and margin type of the profile; store fills == venue fills.
* INTX: a perpetual held across three funding times (the simulator's clock is moved ahead
  through its admin API); the store's realised P&L, fees and funding equal the venue
  ledger's to the cent, and so does the collateral they add up to.
* Expiry: a dated CFM future settles at the venue and the settlement fill is in the store.
* Liquidation: a venue liquidation is reconciled into the store as a fill of a venue order;
  with ``liquidation_buffer`` on, the mark walked past the first liquidation price
  only brings reduce-only cuts from the bot, never a venue liquidation.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from typing import Any

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import LIQUIDATION_TAG, MarginType, OrderRequest, Side, money
from gpt_trader.domain.money import CENT, quantize
from gpt_trader.runtime.live import Bounds, run_live
from gpt_trader.store import Store
from gpt_trader_coinbase_sim.catalogue import INTX, next_expiry_symbol

PERP = "BTC-PERP-INTX"
CFM_PERP = "BIP-20DEC30-CDE"
HOUR = 3600


def stored_funding(state_dir: Any) -> list[Any]:
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        return store.funding_payments()
    finally:
        store.close()


def derivative_bot(cbt: Any, sim: Any, symbol: str, broker: str, **run: Any) -> Any:
    return cbt.bot_config(
        sim,
        every=4,
        universe=(symbol,),
        sizes={symbol: "2" if broker == "coinbase.cfm" else "0.01"},
        broker={"use": broker, "risk_interval_s": 0.3},
        run=run,
    )


async def test_cfm_bot_opens_and_closes_a_leveraged_future(sims, cbt, tmp_path, monkeypatch):
    # A small pool, so that a 2-contract position has a liquidation price above zero.
    sim = sims(seed=5, products=[CFM_PERP], futures_cash=D("1500"))
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    config = derivative_bot(cbt, sim, CFM_PERP, "coinbase.cfm", leverage="3", margin_type="CROSS")
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    broker = kernel.broker
    seen_open: list[Any] = []
    try:
        await start(runtime)
        assert kernel.cash == D("1500")  # the CFM pool, not spot USD
        product = kernel.products[CFM_PERP]
        assert product.contract_size == D("0.01")
        assert product.derivative is not None

        async def watch() -> None:
            while True:
                pos = kernel.positions[CFM_PERP]
                if pos.size and pos.liquidation_price is not None:
                    seen_open.append((pos.size, pos.liquidation_price, pos.mark_price))
                await asyncio.sleep(0.1)

        watcher = asyncio.create_task(watch())
        reason = await run_live(
            kernel,
            runtime.feed,
            runtime.symbols,
            bounds=Bounds(duration_s=5.0),
            stop=asyncio.Event(),
            guard_interval_s=0.2,
        )
        watcher.cancel()
        assert reason == "duration"
        await cbt.settle(kernel)
        if kernel.positions[CFM_PERP].size:
            await kernel.submit(
                OrderRequest("close-1", CFM_PERP, Side.SELL, D(2), reduce_only=True)
            )
            await cbt.settle(kernel)
        await kernel.reconcile_now()
    finally:
        summary = await finish(runtime, "test")
    print(
        "DBG",
        summary["orders_by_status"],
        [(o.client_order_id, o.side, o.status, o.reject_reason) for o in kernel.orders.values()],
    )
    assert seen_open, "no open position with a liquidation price was ever seen"
    size, liq, mark = seen_open[0]
    assert size == D(2)
    assert D(0) < liq < mark
    assert summary["fills"] >= 2
    orders = cbt.exchange_orders(client)
    mine = [o for o in orders if o["product_id"] == CFM_PERP]
    assert {o["side"] for o in mine} == {"BUY", "SELL"}
    opened = [o for o in mine if o["client_order_id"] != "close-1"]
    assert all(o["leverage"] == "3" and o["margin_type"] == "CROSS" for o in opened)
    assert client.list_futures_positions().positions == []  # closed at the venue
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        stored = {f.trade_id for f in store.fills()}
        positions = {p.symbol: p for p in store.positions()}
    finally:
        store.close()
    assert stored == {f["trade_id"] for f in cbt.exchange_fills(client)}
    assert positions[CFM_PERP].size == 0
    assert all(n == 1 for n in broker.stats.create_calls.values())


async def test_intx_perp_held_across_funding_matches_the_venue_ledger(
    sims, cbt, tmp_path, monkeypatch
):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=9, products=[PERP], perps_cash=D("20000"))
    state_dir = tmp_path / "bot"
    config = derivative_bot(cbt, sim, PERP, "coinbase.intx", quote_currency="USDC")
    config.signals.clear()  # this bot's orders are the test's
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    broker = kernel.broker
    try:
        await start(runtime)
        assert kernel.cash == D("20000")
        await cbt.wait_for("a price", lambda: bool(kernel.positions[PERP].mark_price) or True)
        opened = await kernel.submit(
            OrderRequest(
                "open-1",
                PERP,
                Side.BUY,
                D("0.05"),
                leverage=D(5),
                margin_type=MarginType.CROSS,
            )
        )
        assert opened is not None
        await cbt.wait_for("the position", lambda: kernel.positions[PERP].size == D("0.05"))
        reads = broker.risk_reads
        await cbt.wait_for("a risk read", lambda: broker.risk_reads > reads + 1)
        assert kernel.positions[PERP].leverage == D(5)  # the venue's figures reached the kernel
        for n in range(1, 4):
            await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": HOUR})
            await cbt.wait_for(f"funding payment {n}", lambda n=n: broker.funding_reported == n)
        await kernel.submit(OrderRequest("close-1", PERP, Side.SELL, D("0.05"), reduce_only=True))
        await cbt.wait_for("flat", lambda: kernel.positions[PERP].size == 0)
        await cbt.settle(kernel)
    finally:
        summary = await finish(runtime, "test")

    def ledger() -> tuple[Any, ...]:
        deriv = sim.state.venue.derivatives
        pos = deriv.position(PERP)
        payments = deriv.funding_payments(symbol=PERP)
        return pos.realized_pnl, pos.fees, payments, deriv.cash(INTX)

    realized, fees, payments, collateral = sim.call(ledger)
    assert len(payments) == 3
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        stored_funding = store.funding_payments()
        (pos,) = [p for p in store.positions() if p.symbol == PERP]
    finally:
        store.close()
    assert len(stored_funding) == 3
    venue_funding = sum((p.amount for p in payments), D(0))
    assert sum((p.amount for p in stored_funding), D(0)) == venue_funding
    # The store holds the figures as reported: the venue's, to the cent.
    cent = money.currency_increment("USDC")
    assert (pos.realized_pnl, pos.fees, pos.funding) == tuple(
        money.quantize(v, cent) for v in (realized, fees, venue_funding)
    )
    # The pool settles the realised P&L rounded half-even as a whole, each fee and payment on
    # the cent: so the bot's stored figures add up to the venue's collateral exactly (adding
    # the exact P&L first and rounding the sum can land a cent away on a half cent).
    assert D("20000") + pos.realized_pnl + pos.funding - pos.fees == collateral
    assert summary["pnl"]["funding"] == money.amount(venue_funding, "USDC")


async def test_cfm_expiry_settles_at_the_venue_and_in_the_store(sims, cbt, tmp_path, monkeypatch):
    future = next_expiry_symbol("BIT", time.time_ns())
    sim = sims(seed=3, products=[future], futures_cash=D("20000"))
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    config = derivative_bot(cbt, sim, future, "coinbase.cfm")
    config.signals.clear()
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", future, Side.BUY, D(3), leverage=D(2)))
        await cbt.wait_for("the position", lambda: kernel.positions[future].size == D(3))
        expiry = kernel.products[future].derivative.expiry_ts
        seconds = (expiry - sim.state.clock.now_ns()) / 1e9 + 60
        await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": seconds})
        await cbt.wait_for("the settlement", lambda: kernel.positions[future].size == 0, 20.0)
        await kernel.reconcile_now()
    finally:
        await finish(runtime, "test")
    (settlement,) = sim.call(lambda: sim.state.venue.derivatives.settlements(future))
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        fills = {f.trade_id: f for f in store.fills()}
        (pos,) = [p for p in store.positions() if p.symbol == future]
    finally:
        store.close()
    assert settlement.trade_id in fills
    assert fills[settlement.trade_id].price == settlement.price
    assert pos.size == 0
    assert {f["trade_id"] for f in cbt.exchange_fills(client)} == set(fills)


async def test_a_venue_liquidation_is_reconciled_into_the_store(sims, cbt, tmp_path, monkeypatch):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=4, products=[PERP], perps_cash=D("2000"), tick_s=3600.0)
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    config = derivative_bot(cbt, sim, PERP, "coinbase.intx", quote_currency="USDC")
    config.signals.clear()
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", PERP, Side.BUY, D("0.15"), leverage=D(10)))
        await cbt.wait_for("the position", lambda: kernel.positions[PERP].size == D("0.15"))
        await cbt.wait_for("a liquidation price", lambda: kernel.positions[PERP].liquidation_price)
        liq = kernel.positions[PERP].liquidation_price
        crash = (liq * D("0.98")).quantize(D("0.1"))
        sim.call(
            lambda: sim.state.venue.on_print(
                PERP, sim.state.clock.now_ns(), "crash", crash, D(1), "BUY"
            )
        )
        await cbt.wait_for("the liquidation", lambda: kernel.positions[PERP].size == 0, 20.0)
        await kernel.reconcile_now()
    finally:
        await finish(runtime, "test")
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        orders = store.orders()
        fills = store.fills()
    finally:
        store.close()
    venue_orders = [o for o in orders if o.tag == LIQUIDATION_TAG]
    assert len(venue_orders) == 1, [(o.client_order_id, o.tag) for o in orders]
    liquidation = [f for f in fills if f.client_order_id == venue_orders[0].client_order_id]
    assert liquidation
    assert sum(f.size for f in liquidation) == D("0.15")
    assert {f.trade_id for f in fills} == {f["trade_id"] for f in cbt.exchange_fills(client)}


async def test_the_liquidation_buffer_guard_cuts_before_the_venue_liquidates(
    sims, cbt, tmp_path, monkeypatch
):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=4, products=[PERP], perps_cash=D("2000"), tick_s=3600.0)
    client = cbt.sdk(sim, monkeypatch)
    guard = {
        "use": "liquidation_buffer",
        "warn_within": "0.06",
        "reduce_within": "0.04",
        "reduce_fraction": "0.5",
    }
    config = cbt.bot_config(
        sim,
        universe=(PERP,),
        sizes={PERP: "0.01"},
        broker={"use": "coinbase.intx", "risk_interval_s": 0.2},
        run={"quote_currency": "USDC"},
        guards=[guard],
    )
    config.signals.clear()
    state_dir = tmp_path / "bot"
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    broker = kernel.broker
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", PERP, Side.BUY, D("0.15"), leverage=D(10)))
        await cbt.wait_for("the position", lambda: kernel.positions[PERP].size == D("0.15"))
        await cbt.wait_for("a liquidation price", lambda: kernel.positions[PERP].liquidation_price)
        first_liq = kernel.positions[PERP].liquidation_price
        price = kernel.positions[PERP].mark_price
        # Walk the mark down 0.5 % a step, to 1 % below where the venue would first have
        # liquidated; the guard sees each step through the venue's figures and the timer.
        while price > first_liq * D("0.99"):
            price = (price * D("0.995")).quantize(D("0.1"))
            sim.call(
                lambda p=price: sim.state.venue.on_print(
                    PERP, sim.state.clock.now_ns(), f"w{p}", p, D(1), "BUY"
                )
            )
            kernel.ledger.mark(PERP, price)  # what the market channel would tell it (no feed here)
            await broker.read_risk()
            await kernel.on_timer()
            await cbt.settle(kernel, 3.0)
        await kernel.reconcile_now()
    finally:
        await finish(runtime, "test")
    cuts = [o for o in kernel.orders.values() if o.tag == "guard:liquidation_buffer"]
    assert cuts, [o.tag for o in kernel.orders.values()]
    assert all(o.reduce_only and o.side is Side.SELL for o in cuts)
    assert D(0) < kernel.positions[PERP].size < D("0.15")
    venue_orders = cbt.exchange_orders(client)
    assert not [o for o in venue_orders if o.get("is_liquidation")], "the venue liquidated"
    assert sum(
        1 for o in venue_orders if o["client_order_id"] in {c.client_order_id for c in cuts}
    ) == len(cuts)


async def _sweeping_bot(cbt: Any, sims: Any, tmp_path: Any, **rule: str) -> tuple[Any, Any]:
    sim = sims(seed=6, products=[CFM_PERP], futures_cash=D("5000"))
    config = cbt.bot_config(
        sim,
        universe=(CFM_PERP,),
        sizes={CFM_PERP: "2"},
        broker={"use": "coinbase.cfm", "risk_interval_s": 0.2, "sweep_floor": "1000", **rule},
    )
    config.signals.clear()
    return sim, await assemble(config, cbt.bot_plugins(), tmp_path / "bot")


async def test_the_cfm_sweep_rule_sweeps_the_excess_over_its_floor(
    sims, cbt, tmp_path, monkeypatch
):
    sim, runtime = await _sweeping_bot(cbt, sims, tmp_path, sweep_excess_above="500")
    client = cbt.sdk(sim, monkeypatch)
    try:
        await start(runtime)
        broker = runtime.kernel.broker
        await cbt.wait_for("a sweep of the excess", lambda: broker.sweeps_scheduled == 1)
        await asyncio.sleep(0.5)  # a pending sweep is never doubled
        assert broker.sweeps_scheduled == 1
    finally:
        await finish(runtime, "test")
    (pending,) = client.list_futures_sweeps().sweeps
    assert D(pending.requested_amount["value"]) == D("4000.00")  # 5000 less the 1000 floor


async def test_the_cfm_sweep_rule_cancels_a_sweep_below_the_floor(sims, cbt, tmp_path, monkeypatch):
    sim, runtime = await _sweeping_bot(cbt, sims, tmp_path)
    client = cbt.sdk(sim, monkeypatch)
    kernel = runtime.kernel
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", CFM_PERP, Side.BUY, D(2), leverage=D(2)))
        await cbt.wait_for("the position", lambda: kernel.positions[CFM_PERP].size == D(2))
        # Someone sweeps nearly everything while the position holds margin: cancelled.
        assert client.schedule_futures_sweep(usd_amount="4900").success
        await cbt.wait_for("the cancel", lambda: kernel.broker.sweeps_cancelled == 1)
    finally:
        await finish(runtime, "test")
    assert client.list_futures_sweeps().sweeps == []


async def test_intx_funding_continues_across_a_restart(sims, cbt, tmp_path, monkeypatch):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=10, products=[PERP], perps_cash=D("20000"))
    state_dir = tmp_path / "bot"

    async def session(open_first: bool) -> None:
        config = derivative_bot(cbt, sim, PERP, "coinbase.intx", quote_currency="USDC")
        config.signals.clear()
        runtime = await assemble(config, cbt.bot_plugins(), state_dir)
        kernel, broker = runtime.kernel, runtime.kernel.broker
        try:
            await start(runtime)
            if open_first:
                await kernel.submit(OrderRequest("open-1", PERP, Side.BUY, D("0.05")))
            await cbt.wait_for("the position", lambda: kernel.positions[PERP].size == D("0.05"))
            reads = broker.risk_reads
            await cbt.wait_for("a first read", lambda: broker.risk_reads > reads + 1)
            assert broker.funding_reported == 0  # nothing unexplained at start
            await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": HOUR})
            await cbt.wait_for("funding", lambda: broker.funding_reported == 1)
        finally:
            await finish(runtime, "test")

    await session(open_first=True)
    await session(open_first=False)  # the same state dir: a restart, the position still open
    payments = sim.call(lambda: sim.state.venue.derivatives.funding_payments(symbol=PERP))
    stored = stored_funding(state_dir)
    assert len(stored) == len(payments) == 2
    assert sum((p.amount for p in stored), D(0)) == sum((p.amount for p in payments), D(0))


async def test_intx_funding_is_read_before_an_order_changes_the_position(
    sims, cbt, tmp_path, monkeypatch
):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=12, products=[PERP], perps_cash=D("20000"))
    config = cbt.bot_config(
        sim,
        universe=(PERP,),
        sizes={PERP: "0.01"},
        broker={"use": "coinbase.intx", "risk_interval_s": 60.0},  # the loop stays asleep
        run={"quote_currency": "USDC"},
    )
    config.signals.clear()
    state_dir = tmp_path / "bot"
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel, broker = runtime.kernel, runtime.kernel.broker
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", PERP, Side.BUY, D("0.05")))
        await cbt.wait_for("the position", lambda: kernel.positions[PERP].size == D("0.05"))
        await broker.read_risk()  # the run's first read
        await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": HOUR})
        seen = broker.venue_ts
        await cbt.wait_for("a venue heartbeat", lambda: broker.venue_ts > seen)
        # Closed at once: the funding is read off the position before it is gone.
        await kernel.submit(OrderRequest("close-1", PERP, Side.SELL, D("0.05"), reduce_only=True))
        await cbt.wait_for("flat", lambda: kernel.positions[PERP].size == 0)
    finally:
        await finish(runtime, "test")
    (payment,) = sim.call(lambda: sim.state.venue.derivatives.funding_payments(symbol=PERP))
    (stored,) = stored_funding(state_dir)
    assert stored.amount == payment.amount


async def test_cfm_perp_style_funding_is_booked_from_the_pool(sims, cbt, tmp_path, monkeypatch):
    sim = sims(seed=13, products=[CFM_PERP], futures_cash=D("20000"))
    config = cbt.bot_config(
        sim,
        universe=(CFM_PERP,),
        sizes={CFM_PERP: "2"},
        broker={"use": "coinbase.cfm", "risk_interval_s": 0.3},
    )
    config.signals.clear()
    state_dir = tmp_path / "bot"
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel, broker = runtime.kernel, runtime.kernel.broker
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", CFM_PERP, Side.BUY, D(20), leverage=D(3)))
        await cbt.wait_for("the position", lambda: kernel.positions[CFM_PERP].size == D(20))
        reads = broker.risk_reads
        await cbt.wait_for("a baseline read", lambda: broker.risk_reads > reads + 1)
        for n in range(1, 3):
            await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": HOUR})
            await cbt.wait_for(f"funding payment {n}", lambda n=n: broker.funding_reported == n)
        await kernel.submit(OrderRequest("close-1", CFM_PERP, Side.SELL, D(20), reduce_only=True))
        await cbt.wait_for("flat", lambda: kernel.positions[CFM_PERP].size == 0)
        await cbt.settle(kernel)
        pool = sim.call(lambda: sim.state.venue.derivatives.cash("FCM"))
        # the kernel's books and the venue's pool agree to the cent (the pool settles the
        # realised P&L in cents, the kernel keeps it exact)
        assert quantize(kernel.cash, CENT) == pool
    finally:
        await finish(runtime, "test")
    payments = sim.call(lambda: sim.state.venue.derivatives.funding_payments(symbol=CFM_PERP))
    stored = stored_funding(state_dir)
    assert len(payments) == len(stored) == 2
    assert [p.amount for p in stored] == [p.amount for p in payments]


@pytest.mark.parametrize("venue", ["intx", "cfm"])
async def test_funding_of_a_position_closed_before_any_read_is_booked_from_the_pool(
    venue, sims, cbt, tmp_path, monkeypatch
):
    """A close sent just before a funding time may fill just after it, so no read ever
    shows the position that paid (found by chaos: intx P&L and cfm pool alike). Here the
    read an order makes first is skipped to stand for that close in flight."""
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    if venue == "intx":
        symbol, size, pool = PERP, D("0.05"), INTX
        sim = sims(seed=12, products=[PERP], perps_cash=D("20000"))
        extra: dict[str, Any] = {"run": {"quote_currency": "USDC"}}
    else:
        symbol, size, pool = CFM_PERP, D(20), "FCM"
        sim = sims(seed=13, products=[CFM_PERP], futures_cash=D("20000"))
        extra = {}
    config = cbt.bot_config(
        sim,
        universe=(symbol,),
        sizes={symbol: str(size)},
        broker={"use": f"coinbase.{venue}", "risk_interval_s": 60.0},  # the loop stays asleep
        **extra,
    )
    config.signals.clear()
    state_dir = tmp_path / "bot"
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel, broker = runtime.kernel, runtime.kernel.broker
    try:
        await start(runtime)
        await kernel.submit(OrderRequest("open-1", symbol, Side.BUY, size))
        await cbt.wait_for("the position", lambda: kernel.positions[symbol].size == size)
        await broker.read_risk()  # the run's first read: the baseline
        await asyncio.to_thread(cbt.admin, sim.info, "POST", "/clock", {"seconds": HOUR})
        seen = broker.venue_ts
        await cbt.wait_for("a venue heartbeat", lambda: broker.venue_ts > seen)
        monkeypatch.setattr(broker, "_funding_unread", lambda _symbol: False)
        await kernel.submit(OrderRequest("close-1", symbol, Side.SELL, size, reduce_only=True))
        await cbt.wait_for("flat", lambda: kernel.positions[symbol].size == 0)
        await cbt.settle(kernel)
        assert broker.funding_reported == 0  # nothing has read it yet
        await broker.read_risk()
        assert broker.funding_reported == 1
        await broker.read_risk()  # booked once
        assert broker.funding_reported == 1
        venue_cash = sim.call(lambda: sim.state.venue.derivatives.cash(pool))
        assert quantize(kernel.cash, CENT) == venue_cash
    finally:
        await finish(runtime, "test")
    (payment,) = sim.call(lambda: sim.state.venue.derivatives.funding_payments(symbol=symbol))
    (stored,) = stored_funding(state_dir)
    assert payment.amount != 0
    assert (stored.symbol, stored.ts, stored.amount) == (symbol, payment.ts, payment.amount)
