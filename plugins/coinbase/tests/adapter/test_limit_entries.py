"""[execution] limit entries through coinbase.spot and the simulator: the entry rests behind
the touch, its timeout moves it with Coinbase's edit endpoint (same order, new price), and the
official SDK sees one order, edited, never two."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import OrderStatus, OrderType, Ticker

SIZE = Decimal("0.001")


def ticker(bid: Decimal, ask: Decimal) -> Ticker:
    return Ticker("BTC-USD", time.time_ns(), bid, bid, ask, Decimal(1), Decimal(1))


async def test_a_limit_entry_is_repriced_by_the_edit_endpoint(sims, cbt, tmp_path, monkeypatch):
    sim = sims(seed=14)
    client = cbt.sdk(sim, monkeypatch)
    config = cbt.bot_config(sim, every=1, universe=("BTC-USD",), sizes={"BTC-USD": str(SIZE)})
    config = config.model_copy(
        update={
            "execution": config.execution.model_copy(
                update={
                    "entry": "limit",
                    "offset_bps": Decimal(200),  # 2% under the bid: it rests
                    "timeout_s": 0.2,
                    "reprice": "edit",
                    "max_reprices": 1,
                }
            )
        }
    )
    runtime = await assemble(config, cbt.bot_plugins(), tmp_path / "bot")
    kernel = runtime.kernel
    try:
        await start(runtime)
        book = await asyncio.to_thread(client.get_product_book, product_id="BTC-USD", limit=1)
        bid = Decimal(book["pricebook"]["bids"][0]["price"])
        ask = Decimal(book["pricebook"]["asks"][0]["price"])
        await kernel.on_market(ticker(bid, ask))  # the signal goes LONG: a limit entry
        kernel.parts.signals["BTC-USD"].clear()  # one decision: the flips stop here
        (entry,) = kernel.orders.values()
        first = (bid * Decimal("0.98")).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
        assert (entry.order_type, entry.limit_price, entry.status) == (
            OrderType.LIMIT,
            first,
            OrderStatus.OPEN,
        )
        # The kernel sees the bid 1% lower, after the timeout: the entry follows it by edit.
        await asyncio.sleep(0.3)
        lower = (bid * Decimal("0.99")).quantize(Decimal("0.01"))
        await kernel.on_market(ticker(lower, ask))
        moved = (lower * Decimal("0.98")).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
        assert list(kernel.orders) == [entry.client_order_id]
        assert kernel.orders[entry.client_order_id].limit_price == moved

        venue = [o for o in cbt.exchange_orders(client) if o["product_id"] == "BTC-USD"]
        (only,) = venue  # one order for the decision, edited in place, never a second
        assert only["client_order_id"] == entry.client_order_id
        assert only["status"] == "OPEN"
        config_gtc = only["order_configuration"]["limit_limit_gtc"]
        assert Decimal(config_gtc["limit_price"]) == moved
        assert Decimal(config_gtc["base_size"]) == SIZE
        assert only["edit_history"], "the simulator records the edit"

        # max_reprices is spent: the next timeout cancels the rest, and nothing follows.
        await asyncio.sleep(0.3)
        await kernel.on_market(ticker(lower, ask))
        await cbt.wait_for(
            "the cancel",
            lambda: kernel.orders[entry.client_order_id].status is OrderStatus.CANCELLED,
        )
        assert not kernel.entries.active
        (only,) = [o for o in cbt.exchange_orders(client) if o["product_id"] == "BTC-USD"]
        assert only["status"] == "CANCELLED"
    finally:
        await finish(runtime, "test")
