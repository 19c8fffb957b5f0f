"""A bracket on a derivative is an exit bound to its position: refused beyond the position,
held for its fee like any resting order, cancelled when the position is closed or
liquidated under it and cut when the position shrinks, so a leg left behind never opens a
position when the price later crosses its stop. Figures by hand in the comments."""

from __future__ import annotations

from gpt_trader.domain import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from gpt_trader.sim.exchange import SimExchange
from simkit import T0, D
from test_derivatives import FUT, FUTURES, make, mark, order

TAKE, STOP = "110000", "95000"


def bracket(cid: str, side: str, size: str, take: str = TAKE, stop: str = STOP) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=FUT,
        side=Side(side),
        size=D(size),
        order_type=OrderType.BRACKET,
        limit_price=D(take),
        stop_price=D(stop),
        time_in_force=TimeInForce.GTC,
    )


def closed_under(size: str) -> tuple[SimExchange, Order]:
    """Long 4 with a bracket on all of it, then ``size`` sold at market: the leg as left."""
    ex = long_four("1500")
    ex.submit(bracket("b", "SELL", "4"), T0)
    ex.submit(order("close", "SELL", size, reduce_only=True), T0 + 1)
    leg = ex.order("b")
    assert leg is not None
    return ex, leg


def long_four(futures: str) -> SimExchange:
    """4 contracts (0.04 BTC) bought at 100000: fee 4.00, initial margin 1000."""
    ex = make([FUT], futures=futures)
    mark(ex, FUT, "100000", T0)
    assert ex.submit(order("open", "BUY", "4"), T0).status is OrderStatus.FILLED
    return ex


def _crossed_to_nothing(ex: SimExchange, price: str) -> None:
    """A print through the old stop: no position, no fill on the cancelled leg."""
    mark(ex, FUT, price, T0 + 2)
    assert ex.positions() == []
    assert ex.fills(client_order_id="b") == []


def test_a_bracket_holds_its_fee_and_is_refused_without_it() -> None:
    # the fee is held on the dearer leg: 110000 * 0.04 * 0.1 % = 4.40
    ex = long_four("1008.40")  # available after the entry: 1008.40 - 4.00 - 1000 = 4.40
    placed = ex.submit(bracket("b", "SELL", "4"), T0)
    assert placed.status is OrderStatus.OPEN
    assert ex.derivatives.order_hold("b") == D("4.40")
    assert ex.derivatives.available(FUTURES, T0) == 0

    short = long_four("1008.39")  # 4.39 available: a cent short of the fee
    refused = short.submit(bracket("b", "SELL", "4"), T0)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason == "INSUFFICIENT_MARGIN"
    assert short.open_orders() == []


def test_a_bracket_larger_than_the_position_or_opening_one_is_refused() -> None:
    flat = make([FUT], futures="1500")
    mark(flat, FUT, "100000", T0)
    assert flat.submit(bracket("none", "SELL", "1"), T0).reject_reason == "EXCEEDS_POSITION"
    ex = long_four("1500")
    assert ex.submit(bracket("five", "SELL", "5"), T0).reject_reason == "EXCEEDS_POSITION"
    same_way = bracket("buy", "BUY", "1", take="90000", stop="105000")
    assert ex.submit(same_way, T0).reject_reason == "EXCEEDS_POSITION"
    assert ex.submit(bracket("four", "SELL", "4"), T0).status is OrderStatus.OPEN


def test_a_manual_close_cancels_the_bracket_and_its_stop_never_opens_a_short() -> None:
    ex, leg = closed_under("4")
    assert (leg.status, leg.filled_size) == (OrderStatus.CANCELLED, 0)
    assert ex.derivatives.order_hold("b") == 0
    _crossed_to_nothing(ex, "94000")


def test_a_partial_close_cuts_the_bracket_to_what_is_left() -> None:
    ex, leg = closed_under("1")
    assert (leg.status, leg.size, leg.remaining) == (OrderStatus.OPEN, D(3), D(3))
    assert ex.derivatives.order_hold("b") == D("3.30")  # 110000 * 0.03 * 0.1 %
    mark(ex, FUT, "94000", T0 + 2)
    leg = ex.order("b")
    assert leg is not None
    assert (leg.status, leg.filled_size) == (OrderStatus.FILLED, D(3))
    assert ex.positions() == []  # flat, not short


def test_a_liquidation_cancels_the_bracket_and_the_old_stop_opens_nothing() -> None:
    ex = long_four("1500")  # liquidation price 71545
    ex.submit(bracket("b", "SELL", "4", stop="70000"), T0)
    mark(ex, FUT, "71000", T0 + 1)
    leg = ex.order("b")
    assert leg is not None
    assert leg.status is OrderStatus.CANCELLED
    assert ex.positions() == []
    _crossed_to_nothing(ex, "69000")
