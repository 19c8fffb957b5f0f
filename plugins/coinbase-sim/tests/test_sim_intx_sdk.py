"""INTX perpetuals over the wire: the official SDK's perpetuals methods against the
simulator with their typed responses, perpetual products, isolated/cross orders,
reduce-only inside the order configuration, allocation and funding fields.

The market is frozen after the first tick (long ``tick_s``); the tests move marks
themselves where they need to.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests
from coinbase.rest import RESTClient
from coinbase.rest.types.perpetuals_types import (
    GetPerpetualsPortfolioSummaryResponse,
    PerpetualPortfolio,
    PortfolioBalance,
)
from coinbase.rest.types.perpetuals_types import Position as PerpPosition
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.wire import parse_rfc3339

PERP = "BTC-PERP-INTX"
ETH = "ETH-PERP-INTX"
PERPS_CASH = Decimal("20000")
CENT = Decimal("0.01")


def cid() -> str:
    return uuid.uuid4().hex


SIM_OPTIONS = {
    "seed": 12,
    "products": ["BTC-USD", PERP, ETH],
    "balances": {"USD": Decimal("1000")},
    "perps_cash": PERPS_CASH,
}


@pytest.fixture(scope="module")
def sim(module_sim: SimulatorThread) -> SimulatorThread:
    return module_sim


@pytest.fixture(scope="module")
def rest(module_rest: RESTClient) -> RESTClient:
    return module_rest


@pytest.fixture(scope="module")
def portfolio(rest: RESTClient) -> str:
    intx = [p for p in rest.get_portfolios().portfolios if p.type == "INTX"]
    assert len(intx) == 1
    assert [p.type for p in rest.get_portfolios(portfolio_type="INTX").portfolios] == ["INTX"]
    return intx[0].uuid


def call(sim: SimulatorThread, rest: RESTClient, method: str, path: str, **kw: Any):
    headers = rest.set_headers(method, f"/api/v3/brokerage{path}")
    kw.setdefault("json", {})
    return requests.request(
        method,
        f"https://{sim.info.rest_base_url}/api/v3/brokerage{path}",
        headers=headers,
        verify=sim.info.cert_file,
        timeout=10,
        **kw,
    )


def market(rest: RESTClient, symbol: str, side: str, size: str, **kw: Any):
    return rest.create_order(cid(), symbol, side, {"market_market_ioc": {"base_size": size}}, **kw)


def test_perpetual_products(sim, rest):
    p = rest.get_product(PERP)
    assert (p.product_type, p.product_venue, p.quote_currency_id) == ("FUTURE", "INTX", "USDC")
    assert p.fcm_trading_session_details is None
    d = p.future_product_details
    assert (d["contract_expiry_type"], d["contract_size"], d["funding_interval"]) == (
        "PERPETUAL",
        "1",
        "3600s",
    )
    assert d["funding_rate"] == "0.00001"
    assert d["perpetual_details"]["max_leverage"] == "20"
    next_funding = parse_rfc3339(d["funding_time"])
    assert next_funding % (3600 * 10**9) == 0
    assert 0 < next_funding - sim.state.clock.now_ns() <= 3600 * 10**9
    perps = rest.get_products(product_type="FUTURE", contract_expiry_type="PERPETUAL")
    assert {x.product_id for x in perps.products} == {PERP, ETH}


def test_portfolio_summary_and_balances_before_trading(rest, portfolio):
    s = rest.get_perps_portfolio_summary(portfolio)
    assert isinstance(s, GetPerpetualsPortfolioSummaryResponse)
    (pf,) = s.portfolios
    assert isinstance(pf, PerpetualPortfolio)
    assert (pf.portfolio_uuid, pf.collateral, pf.margin_type) == (
        portfolio,
        "20000.00",
        "MARGIN_TYPE_CROSS",
    )
    assert s.summary.buying_power == {"value": "20000.00", "currency": "USDC"}
    assert s.summary.total_balance["value"] == "20000.00"
    balances = rest.get_perps_portfolio_balances(portfolio)
    (pb,) = balances.portfolio_balances
    assert isinstance(pb, PortfolioBalance)
    (bal,) = pb.balances
    assert bal.asset["asset_name"] == "USDC"
    assert (bal.quantity, bal.max_withdraw_amount) == ("20000.00", "20000.00")
    assert pb.is_margin_limit_reached is False
    with pytest.raises(requests.HTTPError) as err:
        rest.get_perps_portfolio_summary(str(uuid.uuid4()))
    assert err.value.response.status_code == 404


def test_isolated_position_allocation_and_liquidation_price(sim, rest, portfolio):
    created = market(rest, PERP, "BUY", "0.05", leverage="5", margin_type="ISOLATED")
    assert created.success, created.error_response
    order = rest.get_order(created.success_response["order_id"]).order
    entry = Decimal(order.average_filled_price)
    fee = Decimal(order.total_fees)

    listed = rest.list_perps_positions(portfolio)
    (pos,) = listed.positions
    assert isinstance(pos, PerpPosition)
    assert (pos.symbol, pos.net_size, pos.margin_type, pos.position_side) == (
        PERP,
        "0.05",
        "MARGIN_TYPE_ISOLATED",
        "POSITION_SIDE_LONG",
    )
    isolated = Decimal("0.05") * entry / 5  # moved out of the pool at the fill
    assert Decimal(pos.im_notional["value"]) == isolated.quantize(CENT)
    assert pos.vwap["value"] == entry.quantize(CENT).to_eng_string()
    liq = Decimal(pos.liquidation_price["value"])
    # (entry * n - margin) / (n * (1 - 0.025)), n = 0.05
    want = (entry * Decimal("0.05") - isolated) / (Decimal("0.05") * Decimal("0.975"))
    assert abs(liq - want) <= Decimal("0.1")
    assert rest.get_perps_position(portfolio, PERP).position.to_dict() == pos.to_dict()

    s = rest.get_perps_portfolio_summary(portfolio).portfolios[0]
    assert Decimal(s.collateral) == (PERPS_CASH - fee).quantize(CENT)  # pool + isolated

    assert rest.allocate_portfolio(portfolio, PERP, "100", "USDC").to_dict() == {}
    after = rest.get_perps_position(portfolio, PERP).position
    assert Decimal(after.im_notional["value"]) == (isolated + 100).quantize(CENT)
    assert Decimal(after.liquidation_price["value"]) < liq
    with pytest.raises(requests.HTTPError) as err:
        rest.allocate_portfolio(portfolio, ETH, "100", "USDC")  # no position there
    assert err.value.response.status_code == 400

    more = market(rest, PERP, "BUY", "0.01", margin_type="CROSS")
    assert more.error_response["preview_failure_reason"] == "PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS"

    closed = rest.close_position(cid(), PERP)
    assert closed.success, closed.error_response
    assert rest.list_perps_positions(portfolio).positions == []
    with pytest.raises(requests.HTTPError) as err:
        rest.get_perps_position(portfolio, PERP)
    assert err.value.response.status_code == 404


def test_reduce_only_inside_the_configuration(sim, rest):
    body = {
        "client_order_id": cid(),
        "product_id": ETH,
        "side": "SELL",
        "order_configuration": {"market_market_ioc": {"base_size": "0.1", "reduce_only": True}},
    }
    flat = call(sim, rest, "POST", "/orders", json=body).json()
    assert flat["success"] is False
    assert flat["error_response"]["preview_failure_reason"] == (
        "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE"
    )
    opened = market(rest, ETH, "BUY", "0.2", leverage="10")
    assert opened.success, opened.error_response
    ok = call(sim, rest, "POST", "/orders", json={**body, "client_order_id": cid()}).json()
    assert ok["success"] is True
    too_much = {
        **body,
        "client_order_id": cid(),
        "order_configuration": {"market_market_ioc": {"base_size": "0.5", "reduce_only": True}},
    }
    flip = call(sim, rest, "POST", "/orders", json=too_much).json()
    assert flip["error_response"]["preview_failure_reason"] == (
        "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE"
    )
    top = call(sim, rest, "POST", "/orders", json={**body, "reduceOnly": True})
    assert top.status_code == 400
    spot = {**body, "product_id": "BTC-USD", "client_order_id": cid()}
    refused = call(sim, rest, "POST", "/orders", json=spot).json()
    assert refused["error_response"]["preview_failure_reason"] == (
        "PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_SPOT_PRODUCTS"
    )
    (pos,) = rest.list_perps_positions(
        rest.get_portfolios(portfolio_type="INTX").portfolios[0].uuid
    ).positions
    assert (pos.symbol, pos.net_size, pos.margin_type) == (ETH, "0.1", "MARGIN_TYPE_CROSS")
    rest.close_position(cid(), ETH)


def test_insufficient_margin_and_leverage_cap(rest):
    huge = market(rest, PERP, "BUY", "5", leverage="20")  # ~500000 / 20 = 25000 > 20000
    assert huge.success is False
    assert huge.error_response["new_order_failure_reason"] == "INSUFFICIENT_FUNDS"
    capped = market(rest, PERP, "BUY", "0.001", leverage="25")
    assert capped.error_response["new_order_failure_reason"] == "INVALID_LEVERAGE"


def test_multi_asset_collateral_opt_in(rest, portfolio):
    on = rest.opt_in_or_out_multi_asset_collateral(portfolio, True)
    assert on.cross_collateral_enabled is True
    assert on.multi_asset_collateral_enabled is True
    flags = rest.get_perps_portfolio_summary(portfolio).portfolios[0].margin_flags
    assert flags == "PORTFOLIO_MARGIN_FLAGS_MULTI_ASSET_COLLATERAL"
    off = rest.opt_in_or_out_multi_asset_collateral(portfolio, False)
    assert off.cross_collateral_enabled is False
    with pytest.raises(requests.HTTPError):
        rest.opt_in_or_out_multi_asset_collateral(str(uuid.uuid4()), True)
