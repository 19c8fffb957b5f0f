"""Every shared sample payload vs what the simulator sends for the same call: same keys, same
value types, recursively (first element of each list). The samples ship in tests/data.

Documented exceptions (each also in the report):
* ws_heartbeats ``heartbeat_counter``: the sample (docs) has a string, live 2026 frames an
  integer; the simulator follows live behaviour (coinbase-api.md §4.3, §8).
* rest_cfm_positions / rest_get_product_cfm_perp: the venue is spot-only, so the positions
  list is empty (its item shape is not comparable) and the futures product is compared
  through the shaping function with a FUTURE product.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from coinbase.rest.types.orders_types import GetOrderResponse
from coinbase.websocket import WebsocketResponse
from gpt_trader.domain import Product
from gpt_trader.domain.products import ProductType
from gpt_trader_coinbase_sim.market import Stats24h
from gpt_trader_coinbase_sim.shapes import product_json
from gpt_trader_coinbase_sim.testing import admin, record_ws, ws_jwt

DATA = Path(__file__).parent / "data"
TYPE_EXCEPTIONS = {"events[].heartbeat_counter"}


def sample(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def shape_diff(want: Any, got: Any, path: str = "") -> list[str]:
    """Differences of keys and value types (None only matches None)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path or '.'}: want object, got {type(got).__name__}"]
        out = []
        if set(want) != set(got):
            out.append(
                f"{path or '.'}: missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}"
            )
        for k in set(want) & set(got):
            out += shape_diff(want[k], got[k], f"{path}.{k}" if path else k)
        return out
    if isinstance(want, list):
        if not isinstance(got, list):
            return [f"{path}: want list, got {type(got).__name__}"]
        if want and got:
            return shape_diff(want[0], got[0], f"{path}[]")
        if want and not got:
            return [f"{path}: sample has items, reply is empty"]
        return []
    if path in TYPE_EXCEPTIONS:
        return []
    if type(want) is not type(got):
        return [f"{path}: want {type(want).__name__}, got {type(got).__name__} ({got!r})"]
    return []


def assert_same_shape(name: str, got: Any) -> None:
    diff = shape_diff(sample(name), got)
    assert not diff, f"{name}: " + "; ".join(diff)


@pytest.fixture
def call(sim, rest):
    """Raw JSON of an SDK call: the typed response's to_dict() loses nothing but renames."""
    base = f"https://{sim.info.rest_base_url}/api/v3/brokerage"

    def _call(method: str, path: str, **kw: Any) -> requests.Response:
        headers = rest.set_headers(method, f"/api/v3/brokerage{path}")
        kw.setdefault("json", {})
        return requests.request(
            method, base + path, headers=headers, verify=sim.info.cert_file, timeout=10, **kw
        )

    return _call


def _partially_filled_order(rest) -> str:
    # 1.5x the first ask level at its price: that level fills, the rest rests (OPEN). The
    # market ticks on its own, so the book can move between reading it and ordering: retry.
    for _ in range(5):
        top = rest.get_product_book("ETH-USD", limit=1).pricebook.asks[0]
        size = (Decimal(top.size) * Decimal("1.5")).quantize(Decimal("0.0001"))
        r = rest.limit_order_gtc_buy(uuid.uuid4().hex, "ETH-USD", str(size), top.price)
        assert r.success, r
        order_id = r.success_response["order_id"]
        if Decimal(rest.get_order(order_id).order.filled_size) > 0:
            return order_id
        rest.cancel_orders([order_id])
    raise AssertionError("no partially filled order after 5 tries")


def _edit_below_filled(rest, call, oid: str) -> tuple[Any, str]:
    """An edit to below the filled size of a partially filled, still open order, and that
    order's id. The market ticks on its own: the rest of the order can fill before the edit
    reaches it (a FILLED order is refused as not open, rightly), so a filled one is
    replaced and tried again."""
    for _ in range(5):
        edit = call(
            "POST", "/orders/edit", json={"order_id": oid, "size": "0.001", "price": "1.00"}
        ).json()
        if rest.get_order(oid).order.status != "FILLED":
            return edit, oid
        oid = _partially_filled_order(rest)
    raise AssertionError("every partially filled order filled before its edit, 5 times")


def test_rest_samples(sim, rest, call):
    now = int(time.time())
    assert_same_shape("rest_server_time.json", call("GET", "/time").json())
    assert_same_shape("rest_get_product.json", call("GET", "/products/BTC-USD").json())
    assert_same_shape(
        "rest_get_candles.json",
        call(
            "GET",
            "/products/BTC-USD/candles",
            params={"start": now - 600, "end": now, "granularity": "FIVE_MINUTE"},
        ).json(),
    )
    assert_same_shape(
        "rest_get_market_trades.json",
        call("GET", "/products/BTC-USD/ticker", params={"limit": 2}).json(),
    )
    assert_same_shape(
        "rest_get_product_book.json",
        call("GET", "/product_book", params={"product_id": "BTC-USD", "limit": 2}).json(),
    )
    assert_same_shape("rest_list_accounts.json", call("GET", "/accounts").json())
    assert_same_shape("rest_cfm_balance_summary.json", call("GET", "/cfm/balance_summary").json())
    assert set(call("GET", "/cfm/positions").json()) == set(sample("rest_cfm_positions.json"))

    oid = _partially_filled_order(rest)
    order = call("GET", f"/orders/historical/{oid}").json()
    assert_same_shape("rest_get_order.json", order)
    GetOrderResponse(order)
    listed = call("GET", "/orders/historical/batch", params={"order_ids": oid}).json()
    assert_same_shape(
        "rest_list_orders.json",
        {**listed, "has_next": True, "cursor": "x"} if not listed["has_next"] else listed,
    )
    assert_same_shape(
        "rest_list_fills.json",
        call("GET", "/orders/historical/fills", params={"order_ids": oid}).json(),
    )
    edit, oid = _edit_below_filled(rest, call, oid)
    assert_same_shape("rest_edit_order.json", edit)
    assert edit["errors"][0]["edit_failure_reason"] == "CANNOT_EDIT_TO_BELOW_FILLED_SIZE"
    cancel = call(
        "POST", "/orders/batch_cancel", json={"order_ids": [oid, str(uuid.uuid4())]}
    ).json()
    assert_same_shape("rest_cancel_orders.json", cancel)

    bid = Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.bids[0].price)
    gtc = {
        "limit_limit_gtc": {"base_size": "0.001", "limit_price": str(bid - 500), "post_only": True}
    }
    created = call(
        "POST",
        "/orders",
        json={
            "client_order_id": uuid.uuid4().hex,
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": gtc,
        },
    ).json()
    assert_same_shape("rest_create_order_success.json", created)
    rest.cancel_orders([created["success_response"]["order_id"]])
    broke = {"market_market_ioc": {"quote_size": "1000000.00"}}
    failed = call(
        "POST",
        "/orders",
        json={
            "client_order_id": uuid.uuid4().hex,
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": broke,
        },
    ).json()
    assert_same_shape("rest_create_order_failure_insufficient_fund.json", failed)
    assert failed["error_response"] == sample("rest_create_order_failure_insufficient_fund.json")[
        "error_response"
    ] | {"error_details": failed["error_response"]["error_details"]}
    cross = {
        "limit_limit_gtc": {"base_size": "0.001", "limit_price": str(bid + 500), "post_only": True}
    }
    post_only = call(
        "POST",
        "/orders",
        json={
            "client_order_id": uuid.uuid4().hex,
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": cross,
        },
    ).json()
    assert_same_shape("rest_create_order_failure_post_only.json", post_only)
    assert post_only["error_response"]["error"] == "UNKNOWN_FAILURE_REASON"
    preview = call(
        "POST",
        "/orders/preview",
        json={
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"market_market_ioc": {"quote_size": "67.40"}},
        },
    ).json()
    assert_same_shape("rest_preview_order.json", preview)


def test_futures_product_shape():
    p = Product(
        "BIP-20DEC30-CDE",
        "BIP",
        "USD",
        Decimal(1),
        Decimal(5),
        Decimal(1),
        Decimal(5000),
        product_type=ProductType.FUTURE,
        contract_size=Decimal("0.01"),
    )
    last = Decimal(67430)
    assert_same_shape(
        "rest_get_product_cfm_perp.json",
        product_json(p, Stats24h(last, last, last, Decimal(0), last, last, last), last),
    )


def test_error_samples(sim, rest, call):
    by_status = {e["status"]: e for e in sample("rest_error_examples.json")}
    now = int(time.time())
    too_wide = call(
        "GET",
        "/products/BTC-USD/candles",
        params={"start": now - 400 * 60, "end": now, "granularity": "ONE_MINUTE"},
    )
    assert too_wide.status_code == 400
    assert too_wide.json() == by_status[400]["body"] | {
        "error_details": "start and end must be within 350 candles",
        "message": "start and end must be within 350 candles",
    }
    unauth = requests.get(
        f"https://{sim.info.rest_base_url}/api/v3/brokerage/accounts",
        json={},
        verify=sim.info.cert_file,
    )
    assert unauth.status_code == 401
    assert unauth.text == by_status[401]["body_text"]
    missing = call("GET", "/orders/historical/nope")
    assert missing.status_code == 404
    assert missing.text == json.dumps(
        sample("rest_error_examples.json")[4]["body"], separators=(",", ":")
    )
    product = call("GET", "/products/NOPE-USD")
    assert product.json() == sample("rest_error_examples.json")[5]["body"]
    admin(sim.info, "POST", "/faults", {"spec": "429=1,paths=/accounts"})
    try:
        limited = call("GET", "/accounts")
    finally:
        admin(sim.info, "DELETE", "/faults")
    assert limited.status_code == 429
    assert limited.json() == by_status[429]["body"]
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
        limited.headers
    )


WS_CHANNELS = [
    ("heartbeats", "ws_heartbeats.json"),
    ("ticker", "ws_ticker.json"),
    ("ticker_batch", "ws_ticker_batch.json"),
    ("candles", "ws_candles.json"),
    ("status", "ws_status.json"),
    ("market_trades", "ws_market_trades.json"),
]


def test_ws_samples(sim, rest):
    bid = Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.bids[0].price)
    resting = rest.limit_order_gtc_buy(uuid.uuid4().hex, "BTC-USD", "0.001", str(bid - 1000))
    token = ws_jwt(sim.info.key_file)
    subs = [
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": ch, "jwt": token}
        for ch, _ in WS_CHANNELS
    ]
    subs += [
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "user", "jwt": token},
        {
            "type": "subscribe",
            "product_ids": [],
            "channel": "futures_balance_summary",
            "jwt": token,
        },
    ]

    async def scenario():
        task = asyncio.create_task(record_ws(sim.info.ws_url, sim.info, subs, duration=1.5))
        await asyncio.sleep(0.7)
        await asyncio.to_thread(rest.cancel_orders, [resting.success_response["order_id"]])
        return await task

    rec = asyncio.run(scenario())
    first: dict[tuple[str, str], dict] = {}
    for f in rec.frames:
        WebsocketResponse(json.loads(json.dumps(f)))  # the SDK's own parser accepts every frame
        kind = f["events"][0].get("type", "") if f["events"] else ""
        first.setdefault((f["channel"], kind), f)
    for channel, name in WS_CHANNELS:
        want_kind = sample(name)["events"][0].get("type", "")
        assert_same_shape(name, first[(channel, want_kind)])
    pair = [
        {"type": "subscribe", "product_ids": [], "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
    ]
    acks = [
        f
        for f in asyncio.run(record_ws(sim.info.ws_url, sim.info, pair, duration=0.3)).frames
        if f["channel"] == "subscriptions"
    ]
    assert_same_shape("ws_subscriptions_ack.json", acks[-1])
    assert acks[-1]["events"] == sample("ws_subscriptions_ack.json")["events"]
    assert_same_shape("ws_level2_snapshot.json", first[("l2_data", "snapshot")])
    assert_same_shape("ws_level2_update.json", first[("l2_data", "update")])
    assert_same_shape("ws_user_snapshot.json", first[("user", "snapshot")])
    assert_same_shape("ws_user_update.json", first[("user", "update")])
    assert_same_shape(
        "ws_futures_balance_summary.json", first[("futures_balance_summary", "snapshot")]
    )

    bad = asyncio.run(
        record_ws(
            sim.info.ws_url,
            sim.info,
            [{"type": "subscribe", "product_ids": [], "channel": "user", "jwt": "x.y.z"}],
            duration=0.3,
        )
    )
    assert bad.frames[0] == sample("ws_error.json")
    # every documented client message is accepted (answered by an ack, never an error frame)
    requests_sample = [dict(m) for m in sample("ws_subscribe_requests.json")]
    for m in requests_sample:
        if "jwt" in m:
            m["jwt"] = token
    ok = asyncio.run(record_ws(sim.info.ws_url, sim.info, requests_sample, duration=0.5))
    assert not [f for f in ok.frames if f.get("type") == "error"]
    acks = [f for f in ok.frames if f.get("channel") == "subscriptions"]
    assert acks[-1]["events"][0]["subscriptions"]["level2"] == ["BTC-USD"]
