"""Order snapshots and sim order ids: the hot path's hand-written forms of what the
standard library does, held equal to it."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from gpt_trader.domain import (
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from gpt_trader.sim.matching import DEFAULT_NAMESPACE, uuid5_namespace, uuid5_text


def test_a_copy_has_every_field_and_keeps_its_trade_ids() -> None:
    order = Order(
        client_order_id="c-1", symbol="BTC-USD", side=Side.SELL, size=Decimal("0.5"),
        order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTD,
        status=OrderStatus.PARTIALLY_FILLED, order_id="o-1", limit_price=Decimal(101),
        stop_price=Decimal(99), post_only=True, reduce_only=True, end_ts=7,
        filled_size=Decimal("0.2"), avg_fill_price=Decimal("100.5"), fees=Decimal("0.12"),
        created_ts=3, updated_ts=5, reject_reason="note", tag="exit:tp", trade_ids=("t-1",),
    )  # fmt: skip
    defaults = Order("c", "ETH-USD", Side.BUY, Decimal(1), OrderType.MARKET, TimeInForce.IOC)
    for f in dataclasses.fields(Order):
        assert getattr(order, f.name) != getattr(defaults, f.name), f"{f.name} left default"
    copy = order.copy()
    assert copy == order
    order.trade_ids += ("t-2",)
    assert copy.trade_ids == ("t-1",)


def test_an_order_from_a_request_is_the_keyword_construction() -> None:
    req = OrderRequest(
        client_order_id="c-1", symbol="BTC-PERP", side=Side.SELL, size=Decimal("0.5"),
        order_type=OrderType.BRACKET, limit_price=Decimal(101), stop_price=Decimal(99),
        time_in_force=TimeInForce.GTD, post_only=True, reduce_only=True, end_ts=7,
        leverage=Decimal(3), margin_type=MarginType.ISOLATED, tag="exit:tp",
    )  # fmt: skip
    expected = Order(
        client_order_id="c-1", symbol="BTC-PERP", side=Side.SELL, size=Decimal("0.5"),
        order_type=OrderType.BRACKET, time_in_force=TimeInForce.GTD,
        limit_price=Decimal(101), stop_price=Decimal(99), post_only=True, reduce_only=True,
        end_ts=7, created_ts=42, updated_ts=42, tag="exit:tp",
    )  # fmt: skip
    made = Order.from_request(req, 42)
    assert made == expected  # every field set (an unset slot would raise here)
    assert made.status is OrderStatus.PENDING
    assert made.trade_ids == ()


def test_sim_order_ids_are_uuid5_of_the_client_order_id() -> None:
    namespace = uuid5_namespace(DEFAULT_NAMESPACE)  # one state, continued by every call
    for name in ("r-000001", "20260101T000000-abc-123456", "ünïcode", "", "r-000001"):
        assert uuid5_text(namespace, name) == str(uuid.uuid5(DEFAULT_NAMESPACE, name))
