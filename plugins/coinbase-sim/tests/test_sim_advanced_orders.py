"""Brackets, stop-limits and edits as Coinbase documents them, seen through the official SDK:
the resting configuration with both of a bracket's prices, edits refused for anything but a
GTC limit (the SDK's own docstring: "Only limit order types, with time in force type of
good-till-cancelled can be edited"). An edited limit on the user channel: test_sim_ws.py."""

from __future__ import annotations

import uuid
from decimal import Decimal

from coinbase.rest import RESTClient

CENT = Decimal("0.01")


def cid() -> str:
    return uuid.uuid4().hex


def _bid(rest) -> Decimal:
    return Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.bids[0].price)


def test_a_bracket_shows_both_prices_and_refuses_an_edit(rest):
    assert rest.market_order_buy(cid(), "BTC-USD", quote_size="100.00").success is True
    bid = _bid(rest)
    take, stop = (
        str((bid * Decimal("1.3")).quantize(CENT)),
        str((bid * Decimal("0.7")).quantize(CENT)),
    )
    placed = rest.trigger_bracket_order_gtc_sell(cid(), "BTC-USD", "0.0001", take, stop)
    assert placed.success is True, placed
    oid = placed.success_response["order_id"]
    try:
        got = rest.get_order(oid).order
        listed = rest.list_orders(order_ids=[oid]).orders
        assert [o.order_id for o in listed] == [oid]
        for order in (got, listed[0]):
            assert (order.order_type, order.status) == ("BRACKET", "OPEN")
            bracket = order.order_configuration.trigger_bracket_gtc
            assert Decimal(bracket.base_size) == Decimal("0.0001")
            prices = (Decimal(bracket.limit_price), Decimal(bracket.stop_trigger_price))
            assert prices == (Decimal(take), Decimal(stop))
            assert order.trigger_status == "STOP_PENDING"

        lower = str((bid * Decimal("1.2")).quantize(CENT))
        edited = rest.edit_order(oid, size="0.0001", price=lower)
        assert edited.success is False
        assert edited.errors[0].edit_failure_reason == "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
        preview = rest.preview_edit_order(oid, size="0.0001", price=lower)
        assert preview.errors[0].edit_failure_reason == "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
        after = rest.get_order(oid).order
        unchanged = after.order_configuration.trigger_bracket_gtc.limit_price
        assert Decimal(unchanged) == Decimal(take)
        assert after.edit_history == []
    finally:
        rest.cancel_orders([oid])
    assert rest.get_order(oid).order.status == "CANCELLED"


def test_a_stop_limit_rests_untriggered_and_refuses_an_edit(rest):
    assert rest.market_order_buy(cid(), "BTC-USD", quote_size="100.00").success is True
    bid = _bid(rest)
    stop = str((bid * Decimal("0.8")).quantize(CENT))
    limit = str((bid * Decimal("0.79")).quantize(CENT))
    placed = rest.stop_limit_order_gtc_sell(
        cid(), "BTC-USD", "0.0001", limit, stop, "STOP_DIRECTION_STOP_DOWN"
    )
    assert placed.success is True, placed
    oid = placed.success_response["order_id"]
    try:
        order = rest.get_order(oid).order
        assert (order.order_type, order.status, order.trigger_status) == (
            "STOP_LIMIT",
            "OPEN",
            "STOP_PENDING",
        )
        config = order.order_configuration.stop_limit_stop_limit_gtc
        assert (Decimal(config.limit_price), Decimal(config.stop_price)) == (
            Decimal(limit),
            Decimal(stop),
        )
        assert config.stop_direction == "STOP_DIRECTION_STOP_DOWN"
        edited = rest.edit_order(oid, size="0.0002", price=limit)
        assert edited.success is False
        assert edited.errors[0].edit_failure_reason == "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
        assert rest.get_order(
            oid
        ).order.order_configuration.stop_limit_stop_limit_gtc.base_size == ("0.0001")
    finally:
        rest.cancel_orders([oid])


def test_a_bracket_beyond_the_position_is_refused_as_coinbase_names_it(make_sim, monkeypatch):
    sim = make_sim(balances={"USD": Decimal("1000")})  # cash, no BTC: nothing to protect
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    rest = RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)
    bid = _bid(rest)
    take, stop = (
        str((bid * Decimal("1.3")).quantize(CENT)),
        str((bid * Decimal("0.7")).quantize(CENT)),
    )
    reason = "PREVIEW_BRACKET_ORDER_SIZE_EXCEEDS_POSITION"
    preview = rest.preview_trigger_bracket_order_gtc_sell("BTC-USD", "0.001", take, stop)
    assert preview.errs == [reason]
    placed = rest.trigger_bracket_order_gtc_sell(cid(), "BTC-USD", "0.001", take, stop)
    assert placed.success is False
    assert placed.error_response["preview_failure_reason"] == reason
    assert sim.state.venue.orders()[0].status.value == "REJECTED"
