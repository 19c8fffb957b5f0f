"""Typed refusals from Coinbase, against the simulator over real sockets: preview before
submit (``BuildContext.options["preview"]``, from ``[execution] preview``): an order the
venue's preview refuses comes back REJECTED with a typed reason and is never sent, one it
accepts is submitted as usual; a refused edit raises ``VenueRefused`` with its reason."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext
from gpt_trader.domain import OrderRequest, OrderStatus, OrderType, RejectReason, Side, TimeInForce
from gpt_trader.errors import VenueRefused
from gpt_trader_coinbase.spot.params import SpotBrokerParams
from gpt_trader_coinbase.spot.plugin import make_spot_broker

D = Decimal


def spot_broker(sim, tmp_path: Path, *, preview: bool):
    ctx = BuildContext(
        profile="t",
        mode="paper",
        universe=("BTC-USD",),
        products={},
        state_dir=tmp_path,
        options={"preview": preview},
    )
    params = SpotBrokerParams(sim_json=str(Path(sim.info.state_dir) / "sim.json"))
    return make_spot_broker(params, ctx)


async def best_bid(broker) -> Decimal:
    book = await broker.rest.product_book("BTC-USD", 1)
    return D(book["pricebook"]["bids"][0]["price"])


def limit(size: str, price: Decimal, client_order_id: str = "") -> OrderRequest:
    return OrderRequest(
        client_order_id or uuid.uuid4().hex,
        "BTC-USD",
        Side.BUY,
        D(size),
        OrderType.LIMIT,
        price,
        time_in_force=TimeInForce.GTC,
    )


async def test_a_refused_preview_sends_nothing(sims, tmp_path):
    sim = sims(balances={"USD": D("1000")})
    broker = spot_broker(sim, tmp_path, preview=True)
    try:
        bid = await best_bid(broker)
        low = (bid * D("0.9")).quantize(D("0.01"))
        cases = {
            RejectReason.INSUFFICIENT_FUNDS: limit("1", low),  # ~60k USD against 1000
            RejectReason.INVALID_SIZE_PRECISION: limit("0.000000001", low),
            RejectReason.SIZE_TOO_LARGE: limit("100000", low),
        }
        for reason, request in cases.items():
            order = await broker.submit(request)
            assert order.status is OrderStatus.REJECTED, request
            assert order.reject_reason is reason
        assert sim.state.venue.orders() == []  # the venue never saw one of them
        assert broker.stats.previews == 3
        assert broker.stats.create_calls == {}

        fine = await broker.submit(limit("0.001", low))  # well within 1000 USD
        assert fine.status is OrderStatus.OPEN
        assert [o.client_order_id for o in sim.state.venue.orders()] == [fine.client_order_id]
        assert broker.stats.previews == 4
    finally:
        await broker.stop()


async def test_without_preview_the_venue_refuses_with_the_same_reason(sims, tmp_path):
    sim = sims(balances={"USD": D("1000")})
    broker = spot_broker(sim, tmp_path, preview=False)
    try:
        bid = await best_bid(broker)
        request = limit("1", (bid * D("0.9")).quantize(D("0.01")))
        order = await broker.submit(request)
        assert order.status is OrderStatus.REJECTED
        assert order.reject_reason is RejectReason.INSUFFICIENT_FUNDS
        assert broker.stats.previews == 0
        assert broker.stats.create_calls == {request.client_order_id: 1}
        nowhere = OrderRequest(uuid.uuid4().hex, "NOPE-USD", Side.BUY, D("0.001"))
        refused = await broker.submit(nowhere)  # the gateway's 400: no such product
        assert (refused.status, refused.reject_reason) == (
            OrderStatus.REJECTED,
            RejectReason.INVALID_REQUEST,
        )
    finally:
        await broker.stop()


@pytest.mark.parametrize("preview", [True, False])
async def test_a_price_beyond_the_venues_band_is_price_too_far(sims, tmp_path, preview):
    """The simulator's band refuses with PREVIEW_BREACHED_PRICE_LIMIT, at preview and at
    submit alike; the adapter names it PRICE_TOO_FAR."""
    sim = sims(balances={"USD": D("100000")}, price_band=D("0.05"))
    broker = spot_broker(sim, tmp_path, preview=preview)
    try:
        bid = await best_bid(broker)
        order = await broker.submit(limit("0.001", (bid * D("0.8")).quantize(D("0.01"))))
        assert (order.status, order.reject_reason) == (
            OrderStatus.REJECTED,
            RejectReason.PRICE_TOO_FAR,
        )
        assert broker.stats.previews == (1 if preview else 0)
        near = await broker.submit(limit("0.001", (bid * D("0.97")).quantize(D("0.01"))))
        assert near.status is OrderStatus.OPEN
    finally:
        await broker.stop()


async def test_a_bot_with_preview_stores_the_typed_reason_and_sends_nothing(sims, cbt, tmp_path):
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.store import Store

    sim = sims(balances={"USD": D("1000")})
    config = cbt.bot_config(sim, universe=("BTC-USD",))
    config.signals.clear()
    runtime = await assemble(config, cbt.bot_plugins(), tmp_path / "bot", options={"preview": True})
    try:
        await start(runtime)
        kernel = runtime.kernel
        bid = await best_bid(kernel.broker)
        low = (bid * D("0.9")).quantize(D("0.01"))
        request = limit("1", low, kernel.next_client_order_id())
        order = await kernel.submit(request)
    finally:
        await finish(runtime, "test")
    assert order is not None
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason is RejectReason.INSUFFICIENT_FUNDS
    assert sim.state.venue.order_by_client_id(request.client_order_id) is None  # never sent
    store = Store(tmp_path / "bot" / "gpt_trader.db", create=False)
    try:
        (stored,) = store.orders()
    finally:
        store.close()
    assert (stored.status, stored.reject_reason) == (OrderStatus.REJECTED, "INSUFFICIENT_FUNDS")


async def test_an_edit_of_a_bracket_is_refused_with_a_typed_reason(sims, tmp_path):
    sim = sims(balances={"USD": D("1000"), "BTC": D("1")})
    broker = spot_broker(sim, tmp_path, preview=False)
    try:
        bid = await best_bid(broker)
        bracket = OrderRequest(
            uuid.uuid4().hex,
            "BTC-USD",
            Side.SELL,
            D("0.01"),
            OrderType.BRACKET,
            (bid * D("1.2")).quantize(D("0.01")),
            stop_price=(bid * D("0.8")).quantize(D("0.01")),
            time_in_force=TimeInForce.GTC,
        )
        assert (await broker.submit(bracket)).status is OrderStatus.OPEN
        with pytest.raises(VenueRefused, match="ONLY_LIMIT_ORDER_EDITS_SUPPORTED") as refused:
            await broker.edit(bracket.client_order_id, size=None, price=bid * D("1.1"))
        assert refused.value.reason is RejectReason.EDIT_NOT_LIMIT
    finally:
        await broker.stop()


def test_every_reason_the_simulator_sends_maps_back_to_itself():
    from gpt_trader_coinbase.reasons import reject_reason
    from gpt_trader_coinbase_sim.reasons import WIRE, wire_reason

    for reason, wire in WIRE.items():
        if reason is RejectReason.EDIT_INSUFFICIENT_FUNDS:
            continue  # the edit's shortfall is PREVIEW_INSUFFICIENT_FUND, as a new order's
        assert reject_reason(wire) is reason, wire
    assert reject_reason(wire_reason(RejectReason.INSUFFICIENT_MARGIN, "INTX")) is (
        RejectReason.INSUFFICIENT_MARGIN
    )
    assert reject_reason("PREVIEW_SOMETHING_NEW") is RejectReason.UNKNOWN
    assert reject_reason("UNKNOWN_FAILURE_REASON") is None  # the zero value says nothing
