"""CFM futures over the wire: the official SDK's futures methods against the simulator, with
its typed responses, plus futures products, orders (leverage, margin type, reduce-only),
close_position, liquidation and the futures_balance_summary channel.

The simulator's market is frozen after its first tick (``tick_s`` is long), so prices do not
move under the assertions; the test drives the mark itself where it needs to.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from coinbase.rest import RESTClient
from coinbase.rest.types.futures_types import (
    FCMBalanceSummary,
    FCMPosition,
    FCMSweep,
    GetCurrentMarginWindowResponse,
    GetFuturesBalanceSummaryResponse,
)
from coinbase.websocket import WebsocketResponse
from gpt_trader_coinbase_sim.catalogue import next_expiry_symbol
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import record_ws, ws_jwt
from gpt_trader_coinbase_sim.wire import parse_rfc3339

DATA = Path(__file__).parent / "data"
FUT = next_expiry_symbol("BIT", time.time_ns())  # a monthly nano-BTC future, > 7 days out
PERP_STYLE = "BIP-20DEC30-CDE"
CS = Decimal("0.01")
TAKER = Decimal("0.006")
FUTURES_CASH = Decimal("20000")


def cid() -> str:
    return uuid.uuid4().hex


SIM_OPTIONS = {
    "seed": 11,
    "products": ["BTC-USD", FUT, PERP_STYLE],
    "balances": {"USD": Decimal("50000")},
    "futures_cash": FUTURES_CASH,
}


@pytest.fixture(scope="module")
def sim(module_sim: SimulatorThread) -> SimulatorThread:
    return module_sim


@pytest.fixture(scope="module")
def rest(module_rest: RESTClient) -> RESTClient:
    return module_rest


def call(sim: SimulatorThread, rest: RESTClient, method: str, path: str, **kw: Any):
    """A raw request with the SDK's auth headers (for bodies the SDK would not send)."""
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


def shape_diff(want: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(want) != set(got):
            return [f"{path}: keys differ"]
        return [d for k in want for d in shape_diff(want[k], got[k], f"{path}.{k}")]
    if isinstance(want, list):
        return [] if not (want and got) else shape_diff(want[0], got[0], f"{path}[]")
    return [] if type(want) is type(got) else [f"{path}: {type(got).__name__}"]


def sample(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def money(x: dict[str, str] | Any) -> Decimal:
    return Decimal(x["value"])


def market(rest: RESTClient, symbol: str, side: str, size: str, **kw: Any):
    config = {"market_market_ioc": {"base_size": size}}
    return rest.create_order(cid(), symbol, side, config, **kw)


def set_mark(sim: SimulatorThread, symbol: str, price: Decimal) -> None:
    """A public print at ``price``: the venue's mark moves (and liquidations are checked)."""
    sim.call(
        lambda: sim.state.venue.on_print(
            symbol, sim.state.clock.now_ns(), cid(), price, Decimal(1), "BUY"
        )
    )


# -- products ---------------------------------------------------------------------------------


def test_futures_products_with_documented_fields(sim, rest):
    futures = rest.get_products(product_type="FUTURE")
    assert {p.product_id for p in futures.products} == {FUT, PERP_STYLE}
    p = rest.get_product(FUT)
    assert (p.product_type, p.product_venue, p.base_increment, p.price_increment) == (
        "FUTURE",
        "FCM",
        "1",
        "5",
    )
    d = p.future_product_details
    assert d["contract_expiry_type"] == "EXPIRING"
    assert (d["contract_size"], d["contract_root_unit"], d["venue"]) == ("0.01", "BTC", "cde")
    expiry = parse_rfc3339(d["contract_expiry"])
    assert expiry > time.time_ns() + 7 * 86_400 * 10**9
    assert d["contract_expiry"].endswith("T15:00:00.000000Z")
    assert d["funding_rate"] == ""
    assert d["intraday_margin_rate"] == {"long_margin_rate": "0.1", "short_margin_rate": "0.1"}
    assert d["overnight_margin_rate"] == {"long_margin_rate": "0.25", "short_margin_rate": "0.3"}
    assert p.fcm_trading_session_details["is_session_open"] is True
    perp = call(sim, rest, "GET", f"/products/{PERP_STYLE}").json()
    assert not shape_diff(sample("rest_get_product_cfm_perp.json"), perp)
    pd = perp["future_product_details"]
    assert (pd["contract_expiry_type"], pd["funding_rate"], pd["funding_interval"]) == (
        "EXPIRING",
        "0.000013",
        "3600s",
    )
    assert parse_rfc3339(pd["funding_time"]) % (3600 * 10**9) == 0
    assert pd["contract_expiry"] == "2030-12-20T16:00:00.000000Z"
    expiring = rest.get_products(product_type="FUTURE", contract_expiry_type="EXPIRING")
    assert {p.product_id for p in expiring.products} == {FUT, PERP_STYLE}
    spot = rest.get_products(product_type="SPOT")
    assert [p.product_id for p in spot.products] == ["BTC-USD", "BTC-USDC"]  # and its alias


# -- balance summary, orders, positions --------------------------------------------------------


def test_balance_summary_before_trading(rest):
    s = rest.get_futures_balance_summary()
    assert isinstance(s, GetFuturesBalanceSummaryResponse)
    b = s.balance_summary
    assert isinstance(b, FCMBalanceSummary)
    assert money(b.cfm_usd_balance) == FUTURES_CASH
    assert money(b.cbi_usd_balance) == Decimal("50000")
    assert money(b.total_usd_balance) == Decimal("70000")
    assert money(b.initial_margin) == 0
    assert money(b.futures_buying_power) == FUTURES_CASH
    assert b.intraday_margin_window_measure["margin_window_type"] == (
        "FCM_MARGIN_WINDOW_TYPE_INTRADAY"
    )


def test_leveraged_futures_order_position_and_margin(sim, rest):
    ask = Decimal(rest.get_product_book(FUT, limit=1).pricebook.asks[0].price)
    created = market(rest, FUT, "BUY", "2", leverage="3", margin_type="CROSS")
    assert created.success, created.error_response
    oid = created.success_response["order_id"]
    order = rest.get_order(oid).order
    assert (order.status, order.product_type, order.leverage, order.margin_type) == (
        "FILLED",
        "FUTURE",
        "3",
        "CROSS",
    )
    assert order.is_liquidation is False
    assert Decimal(order.average_filled_price) == ask
    fee = Decimal(order.total_fees)
    assert fee == (2 * CS * ask * TAKER).quantize(Decimal("0.01"), rounding=ROUND_CEILING)

    listed = rest.list_futures_positions()
    (pos,) = [p for p in listed.positions if p.product_id == FUT]
    assert isinstance(pos, FCMPosition)
    assert (pos.side, pos.number_of_contracts, Decimal(pos.avg_entry_price)) == ("LONG", "2", ask)
    mark = Decimal(pos.current_price)
    assert Decimal(pos.unrealized_pnl) == ((mark - ask) * 2 * CS).quantize(Decimal("0.01"))
    assert pos.expiration_time.endswith("T15:00:00.000000Z")
    one = rest.get_futures_position(FUT).position
    assert one.to_dict() == pos.to_dict()

    b = rest.get_futures_balance_summary().balance_summary
    # leverage 3 -> IM rate max(0.25 overnight/standard, 1/3) = 1/3 of the notional
    im = 2 * CS * mark / 3
    assert money(b.initial_margin) == im.quantize(Decimal("0.01"))
    assert money(b.cfm_usd_balance) == FUTURES_CASH - fee
    assert money(b.liquidation_threshold) == (2 * CS * mark * Decimal("0.125")).quantize(
        Decimal("0.01")
    )
    upnl = (mark - ask) * 2 * CS
    assert money(b.available_margin) == (FUTURES_CASH - fee + upnl - im).quantize(Decimal("0.01"))

    closed = rest.close_position(cid(), FUT)
    assert closed.success, closed.error_response
    assert not [p for p in rest.list_futures_positions().positions if p.product_id == FUT]
    with pytest.raises(requests.HTTPError) as err:
        rest.get_futures_position(FUT)
    assert err.value.response.status_code == 404
    nothing = rest.close_position(cid(), FUT)
    assert nothing.success is False


def test_order_refusals_on_futures(sim, rest):
    too_big = market(rest, FUT, "BUY", "4000")
    assert too_big.success is False
    assert too_big.error_response["preview_failure_reason"] == (
        "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES"
    )
    lev = market(rest, FUT, "BUY", "1", leverage="50")
    assert lev.error_response["new_order_failure_reason"] == "INVALID_LEVERAGE"
    iso = market(rest, FUT, "BUY", "1", margin_type="ISOLATED")
    assert iso.error_response["new_order_failure_reason"] == "INVALID_MARGIN_TYPE"
    bad = market(rest, FUT, "BUY", "1", margin_type="SIDEWAYS")
    assert bad.error_response["new_order_failure_reason"] == "INVALID_MARGIN_TYPE"
    body = {
        "client_order_id": cid(),
        "product_id": FUT,
        "side": "SELL",
        "order_configuration": {"market_market_ioc": {"base_size": "1"}},
    }
    for key in ("reduceOnly", "reduce_only"):
        top = call(sim, rest, "POST", "/orders", json={**body, key: True})
        assert top.status_code == 400
        assert top.json()["error"] == "INVALID_ARGUMENT"
    inside = {
        **body,
        "order_configuration": {"market_market_ioc": {"base_size": "1", "reduce_only": True}},
    }
    r = call(sim, rest, "POST", "/orders", json=inside).json()
    assert (
        r["error_response"]["preview_failure_reason"] == "PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_VENUE"
    )
    preview = rest.preview_order(
        FUT, "BUY", {"market_market_ioc": {"base_size": "1"}}, leverage="2"
    )
    assert preview.errs == []
    assert Decimal(preview.order_margin_total) > 0
    assert preview.leverage == "2"


# -- sweeps and margin settings ----------------------------------------------------------------


def test_sweeps_schedule_list_cancel(rest):
    assert rest.schedule_futures_sweep("100.00").success is True
    assert rest.schedule_futures_sweep("5.00").success is False  # one pending at a time
    (sweep,) = rest.list_futures_sweeps().sweeps
    assert isinstance(sweep, FCMSweep)
    assert sweep.requested_amount == {"value": "100.00", "currency": "USD"}
    assert (sweep.should_sweep_all, sweep.status) == (False, "PENDING")
    when = parse_rfc3339(sweep.schedule_time)
    assert when > time.time_ns()
    assert when % (86_400 * 10**9) == 22 * 3600 * 10**9
    assert rest.cancel_pending_futures_sweep().success is True
    assert rest.list_futures_sweeps().sweeps == []
    assert rest.cancel_pending_futures_sweep().success is False
    assert rest.schedule_futures_sweep("").success is True  # empty = sweep all
    assert rest.list_futures_sweeps().sweeps[0].should_sweep_all is True
    rest.cancel_pending_futures_sweep()


def test_intraday_margin_setting_and_window(sim, rest):
    assert rest.get_intraday_margin_setting().setting == "INTRADAY_MARGIN_SETTING_STANDARD"
    rest.set_intraday_margin_setting("INTRADAY_MARGIN_SETTING_INTRADAY")
    assert rest.get_intraday_margin_setting().setting == "INTRADAY_MARGIN_SETTING_INTRADAY"
    rest.set_intraday_margin_setting("INTRADAY_MARGIN_SETTING_STANDARD")
    with pytest.raises(requests.HTTPError):
        rest.set_intraday_margin_setting("SOMETIMES")
    w = rest.get_current_margin_window("MARGIN_PROFILE_TYPE_RETAIL_REGULAR")
    assert isinstance(w, GetCurrentMarginWindowResponse)
    assert w.margin_window["margin_window_type"] in (
        "FCM_MARGIN_WINDOW_TYPE_INTRADAY",
        "FCM_MARGIN_WINDOW_TYPE_OVERNIGHT",
        "FCM_MARGIN_WINDOW_TYPE_WEEKEND",
    )
    assert parse_rfc3339(w.margin_window["end_time"]) > time.time_ns()
    assert w.is_intraday_margin_killswitch_enabled is False


# -- liquidation --------------------------------------------------------------------------------


def test_liquidation_is_a_liquidation_order_and_fill(sim, rest):
    # 50 contracts at ~100000 = ~50000 notional, ~12300 initial margin at the overnight
    # rate: the pool carries it; then push the mark through the liquidation price.
    created = market(rest, PERP_STYLE, "BUY", "50")
    assert created.success, created.error_response
    liq = sim.call(
        lambda: sim.state.venue.derivatives.liquidation_price(PERP_STYLE, sim.state.clock.now_ns())
    )
    assert liq is not None
    set_mark(sim, PERP_STYLE, liq - 1000)
    fills = rest.get_fills(product_ids=[PERP_STYLE]).fills
    newest = fills[0]
    assert Decimal(newest.price) == liq
    assert newest.side == "SELL"
    order = rest.get_order(newest.order_id).order
    assert (order.order_type, order.is_liquidation, order.status) == (
        "LIQUIDATION",
        True,
        "FILLED",
    )
    assert not [p for p in rest.list_futures_positions().positions if p.product_id == PERP_STYLE]


# -- WebSocket ------------------------------------------------------------------------------------


def test_futures_balance_summary_channel_snapshot_and_updates(sim, rest):
    token = ws_jwt(sim.info.key_file)
    sub = {
        "type": "subscribe",
        "product_ids": [],
        "channel": "futures_balance_summary",
        "jwt": token,
    }

    async def scenario():
        task = asyncio.create_task(record_ws(sim.info.ws_user_url, sim.info, [sub], duration=1.5))
        await asyncio.sleep(0.5)
        r = await asyncio.to_thread(market, rest, FUT, "BUY", "1")
        assert r.success, r.error_response
        return await task

    rec = asyncio.run(scenario())
    frames = [f for f in rec.frames if f.get("channel") == "futures_balance_summary"]
    for f in frames:
        WebsocketResponse(json.loads(json.dumps(f)))
    snapshot, *updates = frames
    assert not shape_diff(sample("ws_futures_balance_summary.json"), snapshot)
    first = snapshot["events"][0]["fcm_balance_summary"]
    assert updates, "an order on a futures product must produce an update"
    last = updates[-1]["events"][0]
    assert last["type"] == "update"
    after = last["fcm_balance_summary"]
    assert Decimal(after["cfm_usd_balance"]) < Decimal(first["cfm_usd_balance"])  # the fee
    assert Decimal(after["initial_margin"]) > Decimal(first["initial_margin"])
    rest_now = rest.get_futures_balance_summary().balance_summary
    assert after["initial_margin"] == rest_now.initial_margin["value"]
    rest.close_position(cid(), FUT)
