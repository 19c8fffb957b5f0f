"""The OCO race through the Coinbase simulator (spot): the bracket fills at the venue while
the kernel is cancelling it for a signal exit. The position is closed once, by the bracket,
and never reversed (the core-sim version is core/tests/test_exits.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

from gpt_trader.app import assemble, finish, start
from gpt_trader.config.settings import ExitsSection
from gpt_trader.domain import OrderStatus, OrderType, Side, Ticker
from gpt_trader.engine.exits import ExitReason, exit_reason

SYM = "BTC-USD"
SIZE = D("0.001")


class Deaf:
    """The kernel as the broker's listener, deaf to the bracket's stream (a WebSocket gap):
    what the kernel learns of the bracket's fill, it learns from the cancel's read-back."""

    def __init__(self, kernel: Any, cid: str) -> None:
        self.kernel, self.cid = kernel, cid

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kernel, name)

    def on_order(self, order: Any) -> None:
        if order.client_order_id != self.cid:
            self.kernel.on_order(order)

    def on_fill(self, fill: Any) -> None:
        if fill.client_order_id != self.cid:
            self.kernel.on_fill(fill)


async def test_a_bracket_that_fills_while_a_signal_exit_cancels_it_closes_once(
    sims, cbt, tmp_path, monkeypatch
):
    sim = sims(seed=7, products=[SYM])
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    # test.flip on every ticker: the first says LONG (the entry), the second FLAT (the exit);
    # no reconcile pass during the test: the kernel learns of the fill from the race itself
    config = cbt.bot_config(
        sim,
        every=1,
        universe=(SYM,),
        sizes={SYM: str(SIZE)},
        broker={"reconcile_interval_s": 600.0},
    )
    config = config.model_copy(
        update={"exits": ExitsSection(stop_loss_pct=D(2), take_profit_pct=D(4))}
    )
    runtime = await assemble(config, cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    broker = kernel.broker

    async def ticker() -> None:
        price = D(client.get_product(SYM)["price"])
        await kernel.on_market(Ticker(SYM, kernel.now, price, price, price))

    try:
        await start(runtime)
        await ticker()
        await cbt.wait_for("the position", lambda: kernel.positions[SYM].size == SIZE)

        def brackets() -> list[Any]:
            return [o for o in kernel.orders.values() if o.order_type is OrderType.BRACKET]

        for _ in range(100):  # the kernel's timer places the bracket
            await kernel.on_timer()
            if brackets():
                break
            await asyncio.sleep(0.05)
        [bracket] = brackets()
        stop = bracket.stop_price
        assert stop is not None
        cancel = broker.cancel
        raced: list[list[str]] = []

        async def cancel_after_the_stop_fills(cids: Any) -> Any:
            # the market goes through the stop, and the venue fills the bracket, just
            # before the kernel's cancel reaches it
            raced.append(list(cids))
            crash = stop * D("0.99")
            sim.call(
                lambda: sim.state.venue.on_print(
                    SYM, sim.state.clock.now_ns(), "crash", crash, D(1), "BUY"
                )
            )
            return await cancel(cids)

        broker.cancel = cancel_after_the_stop_fills
        broker._listener = Deaf(kernel, bracket.client_order_id)
        await ticker()  # FLAT
        await cbt.settle(kernel)
        await kernel.reconcile_now()
        assert raced == [[bracket.client_order_id]]  # the signal exit did race the stop
        assert kernel.positions[SYM].size == 0  # read back from the venue before a close
        [entry] = [o for o in kernel.orders.values() if o.side is Side.BUY]
        assert list(kernel.orders) == [entry.client_order_id, bracket.client_order_id]
    finally:
        await finish(runtime, "test")

    [venue] = [
        o for o in cbt.exchange_orders(client) if o["client_order_id"] == bracket.client_order_id
    ]
    assert venue["status"] == "FILLED"
    assert kernel.orders[bracket.client_order_id].status is OrderStatus.FILLED
    sells = [o for o in cbt.exchange_orders(client) if o["side"] == "SELL"]
    assert [o["client_order_id"] for o in sells] == [bracket.client_order_id]  # no second close
    assert D(venue["filled_size"]) == SIZE
    filled_at = D(venue["average_filled_price"])
    assert exit_reason(kernel.orders[bracket.client_order_id], filled_at) is ExitReason.STOP_LOSS
    assert cbt.exchange_balances(client).get("BTC", D(0)) == 0  # never sold short
    cbt.check_invariants(client, state_dir)
