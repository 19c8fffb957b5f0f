"""Derivative brackets and the price band over the wire, seen by the official SDK.

A ``trigger_bracket_gtc`` on an INTX perpetual (``reduce_only`` inside its configuration)
left at the venue after its position was closed by hand is cancelled there, and a later
print through its old stop opens nothing; a bracket larger than the position is refused as
Coinbase names it; one left under a liquidated position goes the same way. A bracket
holds its fee (at its take-profit, as the preview shows) and is refused a cent short of
it. A limit priced further from the last trade than the simulator's band is
refused with ``PREVIEW_BREACHED_PRICE_LIMIT`` at preview and at submit.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread

PERP = "BTC-PERP-INTX"
BAND = Decimal("0.15")

SIM_OPTIONS = {
    "seed": 14,
    "products": ["BTC-USD", PERP],
    "balances": {"USD": Decimal("100000")},
    "perps_cash": Decimal("20000"),
    "price_band": BAND,
}


def cid() -> str:
    return uuid.uuid4().hex


def last(rest: RESTClient, symbol: str) -> Decimal:
    return Decimal(rest.get_product(symbol).price)


def print_at(sim: SimulatorThread, symbol: str, price: Decimal) -> None:
    sim.call(
        lambda: sim.state.venue.on_print(
            symbol, sim.state.clock.now_ns(), cid(), price, Decimal(1), "SELL"
        )
    )


def bracket(rest: RESTClient, size: str, take: Decimal, stop: Decimal) -> dict[str, Any]:
    return rest.create_order(cid(), PERP, "SELL", _config(size, take, stop)).to_dict()


def _config(size: str, take: Decimal, stop: Decimal) -> dict[str, Any]:
    return {
        "trigger_bracket_gtc": {
            "base_size": size,
            "limit_price": str(take),
            "stop_trigger_price": str(stop),
            "reduce_only": True,
        }
    }


def levels(rest: RESTClient) -> tuple[Decimal, Decimal]:
    """A take-profit 4 % above the last trade, a stop 2 % below it (whole dollars)."""
    price = last(rest, PERP)
    return (price * Decimal("1.04")).quantize(Decimal(1)), (price * Decimal("0.98")).quantize(
        Decimal(1)
    )


def available(sim: SimulatorThread) -> Decimal:
    """The INTX pool's available margin, as the venue's ledger has it."""
    venue = sim.state.venue
    return sim.call(lambda: venue.derivatives.available("INTX", sim.state.clock.now_ns()))


def test_a_bracket_left_after_a_manual_close_is_cancelled_and_opens_nothing(
    module_sim: SimulatorThread, module_rest: RESTClient
) -> None:
    sim, rest = module_sim, module_rest
    portfolio = rest.get_portfolios(portfolio_type="INTX").portfolios[0].uuid
    price = last(rest, PERP)
    take, stop = (
        (price * Decimal("1.04")).quantize(Decimal(1)),
        (price * Decimal("0.98")).quantize(Decimal(1)),
    )
    too_big = bracket(rest, "0.01", take, stop)  # nothing to close yet
    assert too_big["success"] is False
    assert too_big["error_response"]["preview_failure_reason"] == (
        "PREVIEW_BRACKET_ORDER_SIZE_EXCEEDS_POSITION"
    )
    opened = rest.market_order_buy(cid(), PERP, base_size="0.01")
    assert opened.success, opened.error_response
    placed = bracket(rest, "0.01", take, stop)
    assert placed["success"], placed
    leg_id = placed["success_response"]["order_id"]
    assert rest.get_order(leg_id).order.status == "OPEN"

    closed = rest.close_position(cid(), PERP)
    assert closed.success, closed.error_response
    leg = rest.get_order(leg_id).order
    assert (leg.status, Decimal(leg.filled_size)) == ("CANCELLED", 0)

    print_at(sim, PERP, stop - 100)  # through the old stop
    assert rest.list_perps_positions(portfolio).positions == []
    assert rest.get_order(leg_id).order.status == "CANCELLED"
    assert rest.get_fills(order_ids=[leg_id]).fills == []


def test_a_limit_beyond_the_price_band_is_refused_at_preview_and_submit(
    module_sim: SimulatorThread, module_rest: RESTClient
) -> None:
    rest = module_rest
    price = last(rest, "BTC-USD")
    far = str((price * (1 - BAND * 2)).quantize(Decimal("0.01")))
    near = str((price * (1 - BAND / 2)).quantize(Decimal("0.01")))
    reason = "PREVIEW_BREACHED_PRICE_LIMIT"
    assert rest.preview_limit_order_gtc_buy("BTC-USD", "0.001", far).errs == [reason]
    refused = rest.limit_order_gtc_buy(cid(), "BTC-USD", "0.001", far)
    assert refused.success is False
    assert refused.error_response["preview_failure_reason"] == reason
    placed = rest.limit_order_gtc_buy(cid(), "BTC-USD", "0.001", near)
    assert placed.success, placed.error_response
    rest.cancel_orders([placed.success_response["order_id"]])


def test_a_bracket_holds_its_fee_and_is_refused_a_cent_short_of_it(
    module_sim: SimulatorThread, module_rest: RESTClient
) -> None:
    sim, rest = module_sim, module_rest
    portfolio = rest.get_portfolios(portfolio_type="INTX").portfolios[0].uuid
    print_at(sim, PERP, last(rest, PERP))  # the last trade back at the listed price
    opened = rest.market_order_buy(cid(), PERP, base_size="0.01", margin_type="ISOLATED")
    assert opened.success, opened.error_response
    take, stop = levels(rest)
    # the fee is held at the take-profit (a SELL's dearer leg): what the preview shows
    fee = Decimal(rest.preview_order(PERP, "SELL", _config("0.01", take, stop)).commission_total)
    assert fee > 0
    # margin moved into the isolated position leaves the pool exactly the fee
    rest.allocate_portfolio(portfolio, PERP, str(available(sim) - fee), "USDC")
    assert available(sim) == fee
    held = bracket(rest, "0.01", take, stop)
    assert held["success"], held
    leg = rest.get_order(held["success_response"]["order_id"]).order
    assert Decimal(leg.outstanding_hold_amount) == fee
    assert available(sim) == 0
    rest.cancel_orders([leg.order_id])

    rest.allocate_portfolio(portfolio, PERP, "0.01", "USDC")  # a cent short now
    refused = bracket(rest, "0.01", take, stop)
    assert refused["success"] is False
    assert refused["error_response"]["new_order_failure_reason"] == "INSUFFICIENT_FUNDS"
    rest.close_position(cid(), PERP)


def test_a_liquidation_cancels_the_bracket_and_its_old_stop_opens_nothing(
    module_sim: SimulatorThread, module_rest: RESTClient
) -> None:
    sim, rest = module_sim, module_rest
    portfolio = rest.get_portfolios(portfolio_type="INTX").portfolios[0].uuid
    print_at(sim, PERP, last(rest, PERP))
    opened = rest.market_order_buy(
        cid(), PERP, base_size="0.01", leverage="10", margin_type="ISOLATED"
    )
    assert opened.success, opened.error_response
    (pos,) = rest.list_perps_positions(portfolio).positions
    liquidation = Decimal(pos.liquidation_price["value"])
    take, _ = levels(rest)
    stop = (liquidation * Decimal("0.97")).quantize(Decimal(1))  # below the liquidation
    placed = bracket(rest, "0.01", take, stop)
    assert placed["success"], placed
    leg_id = placed["success_response"]["order_id"]

    print_at(sim, PERP, (liquidation * Decimal("0.99")).quantize(Decimal(1)))
    assert rest.list_perps_positions(portfolio).positions == []
    assert rest.get_order(leg_id).order.status == "CANCELLED"
    print_at(sim, PERP, stop - 100)  # through the old stop
    assert rest.list_perps_positions(portfolio).positions == []
    assert rest.get_fills(order_ids=[leg_id]).fills == []
