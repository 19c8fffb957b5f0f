"""A bracket the adapter placed on a derivative never opens a position: on INTX (which
takes ``reduce_only`` inside the configuration) and on CFM (which refuses the flag, so the
adapter leaves it out and the venue's own bracket rule applies), a leg left at the venue
after the position was closed by hand is cancelled there (the adapter reads it back so),
and a later print through the old stop opens nothing. The simulator over TLS on loopback, the official
SDK as the outside hand."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D

import pytest
from gpt_trader.app import finish, start
from gpt_trader.domain import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

CASES = {
    "intx": ("BTC-PERP-INTX", "coinbase.intx", "0.01"),
    "cfm": ("BIP-20DEC30-CDE", "coinbase.cfm", "1"),
}


async def venue_status(broker, cid: str, want: OrderStatus, within: float = 10.0) -> Order:
    """The order as the adapter reads it back from the venue, once it reached ``want``."""
    for _ in range(int(within / 0.05)):
        order = await broker.order(cid)
        if order is not None and order.status is want:
            return order
        await asyncio.sleep(0.05)
    raise AssertionError(f"{cid} never reached {want}")


def print_at(sim, symbol: str, price: D) -> None:
    """A public trade at ``price`` (the venue marks there and checks its triggers)."""
    sim.call(
        lambda: sim.state.venue.on_print(
            symbol, sim.state.clock.now_ns(), uuid.uuid4().hex, price, D(1), "SELL"
        )
    )


@pytest.mark.parametrize("venue", sorted(CASES))
async def test_a_bracket_left_after_a_manual_close_opens_nothing(
    venue, sims, cbt, tmp_path, monkeypatch
):
    symbol, broker_name, size = CASES[venue]
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=4, products=[symbol], futures_cash=D(20000), perps_cash=D(20000))
    client = cbt.sdk(sim, monkeypatch)
    runtime = await cbt.bot_of_the_test(sim, symbol, broker_name, size, tmp_path / "bot")
    kernel = runtime.kernel
    try:
        await start(runtime)
        broker = kernel.broker
        await broker.submit(OrderRequest("entry", symbol, Side.BUY, D(size)))
        await venue_status(broker, "entry", OrderStatus.FILLED)
        product = kernel.products[symbol]
        price = D(client.get_product(symbol).price)
        stop = product.quantize_price(price * D("0.98"))
        leg = await broker.submit(
            OrderRequest(
                "leg",
                symbol,
                Side.SELL,
                D(size),
                order_type=OrderType.BRACKET,
                limit_price=product.quantize_price(price * D("1.04")),
                stop_price=stop,
                time_in_force=TimeInForce.GTC,
                reduce_only=True,
            )
        )
        assert leg.status is OrderStatus.OPEN, leg

        closed = client.close_position(uuid.uuid4().hex, symbol)  # by hand, outside the bot
        assert closed.success, closed.error_response
        await venue_status(broker, "leg", OrderStatus.CANCELLED)

        print_at(sim, symbol, stop - 10 * product.price_increment)  # through the old stop
        venue_leg = await venue_status(broker, "leg", OrderStatus.CANCELLED)
        assert venue_leg.filled_size == 0
        assert [p for p in await broker.positions() if p.size != 0] == []
    finally:
        await finish(runtime, "test")
