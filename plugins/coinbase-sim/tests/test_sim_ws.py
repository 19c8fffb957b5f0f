"""WebSocket channels with the official SDK clients, and the raw protocol rules."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal

from coinbase.websocket import WebsocketResponse, WSClient, WSUserClient
from gpt_trader_coinbase_sim.testing import record_ws, ws_jwt
from gpt_trader_coinbase_sim.ws import WsTimeouts


def _wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


D = Decimal


def _user_client(sim, frames: list[str]) -> WSUserClient:
    return WSUserClient(
        key_file=sim.info.key_file,
        base_url=sim.info.ws_user_url,
        on_message=frames.append,
        retry=False,
    )


def test_sdk_clients_market_and_user(sim, rest):
    market: list[str] = []
    user: list[str] = []
    ws = WSClient(
        key_file=sim.info.key_file, base_url=sim.info.ws_url, on_message=market.append, retry=False
    )
    uws = _user_client(sim, user)
    ws.open()
    uws.open()
    try:
        ws.subscribe(["BTC-USD"], ["ticker", "level2", "market_trades"])
        ws.heartbeats()
        uws.user(["BTC-USD"])
        assert _wait_for(lambda: any('"user"' in m for m in user))
        bid = Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.bids[0].price)
        created = rest.limit_order_gtc_buy(uuid.uuid4().hex, "BTC-USD", "0.002", str(bid - 2000))
        oid = created.success_response["order_id"]
        rest.cancel_orders([oid])
        bought = rest.market_order_buy(uuid.uuid4().hex, "BTC-USD", "50.00")
        moid = bought.success_response["order_id"]
        assert _wait_for(lambda: sum(moid in m for m in user) >= 2)
        assert _wait_for(lambda: len(market) > 30)
    finally:
        ws.close()
        uws.close()

    for stream in (market, user):
        frames = [json.loads(m) for m in stream]
        seqs = [f["sequence_num"] for f in frames]
        assert seqs == list(range(len(seqs)))  # per connection, from 0, contiguous
        for m in stream:
            WebsocketResponse(json.loads(m))

    frames = [json.loads(m) for m in market]
    channels = [f["channel"] for f in frames]
    assert {"ticker", "l2_data", "market_trades", "heartbeats", "subscriptions"} <= set(channels)
    l2 = [f for f in frames if f["channel"] == "l2_data"]
    assert l2[0]["events"][0]["type"] == "snapshot"
    assert all(f["events"][0]["type"] == "update" for f in l2[1:])
    assert any(u["new_quantity"] == "0" for f in l2[1:] for u in f["events"][0]["updates"])
    ticks = [f["events"][0]["tickers"][0] for f in frames if f["channel"] == "ticker"]
    assert all(Decimal(t["best_bid"]) < Decimal(t["best_ask"]) for t in ticks)
    beats = [f["events"][0]["heartbeat_counter"] for f in frames if f["channel"] == "heartbeats"]
    assert beats == sorted(beats)
    assert len(set(beats)) == len(beats)

    updates = [
        o
        for f in map(json.loads, user)
        if f["channel"] == "user"
        for ev in f["events"]
        if ev["type"] == "update"
        for o in ev["orders"]
    ]
    resting = [o["status"] for o in updates if o["order_id"] == oid]
    assert resting[0] == "OPEN"
    assert resting[-1] == "CANCELLED"
    mkt = [o for o in updates if o["order_id"] == moid]
    assert mkt[-1]["status"] == "FILLED"
    assert mkt[-1]["leaves_quantity"] == "0"
    cums = [Decimal(o["cumulative_quantity"]) for o in mkt]
    assert cums == sorted(cums)
    assert cums[-1] > 0
    assert Decimal(mkt[-1]["avg_price"]) > 0
    assert mkt[-1]["order_type"] == "Market"


def test_an_edited_limit_shows_on_the_user_channel(sim, rest):
    frames: list[str] = []
    uws = _user_client(sim, frames)
    uws.open()
    try:
        uws.user(["BTC-USD"])
        assert _wait_for(lambda: any('"user"' in m for m in frames))
        bid = Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.bids[0].price)
        price = (bid * Decimal("0.8")).quantize(Decimal("0.01"))
        placed = rest.limit_order_gtc_buy(uuid.uuid4().hex, "BTC-USD", "0.001", str(price))
        oid = placed.success_response["order_id"]
        new_price = price - 5
        assert rest.edit_order(oid, size="0.002", price=str(new_price)).success is True

        def updates() -> list[dict]:
            return [
                o
                for f in map(json.loads, list(frames))
                if f["channel"] == "user"
                for ev in f["events"]
                if ev["type"] == "update"
                for o in ev["orders"]
                if o["order_id"] == oid
            ]

        assert _wait_for(lambda: any(D(o["limit_price"]) == new_price for o in updates()))
        (edited,) = [o for o in updates() if D(o["limit_price"]) == new_price]
        assert edited["status"] == "OPEN"
        assert D(edited["leaves_quantity"]) == D("0.002")
        order = rest.get_order(oid).order
        assert D(order.order_configuration.limit_limit_gtc.limit_price) == new_price
        assert [(D(h.price), D(h.size)) for h in order.edit_history] == [(new_price, D("0.002"))]
        rest.cancel_orders([oid])
    finally:
        uws.close()


def test_user_socket_and_subscription_errors(sim):
    token = ws_jwt(sim.info.key_file)
    msgs = [
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "ticker"},  # not on /ws/user
        {"type": "subscribe", "product_ids": [], "channel": "user"},  # no jwt
        {"type": "subscribe", "product_ids": ["NOPE-USD"], "channel": "user", "jwt": token},
        {"type": "subscribe", "channel": "heartbeats", "product_ids": []},
    ]
    rec = asyncio.run(record_ws(sim.info.ws_user_url, sim.info, msgs, duration=0.4))
    errors = [f["message"] for f in rec.frames if f.get("type") == "error"]
    assert errors == ["failure to subscribe", "authentication failure", "failure to subscribe"]
    enveloped = [f for f in rec.frames if "sequence_num" in f]
    assert [f["sequence_num"] for f in enveloped] == list(range(len(enveloped)))
    assert enveloped[0]["channel"] == "subscriptions"


def test_unsubscribe_stops_the_channel(sim):
    msgs = [
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "ticker"},
        {"type": "unsubscribe", "product_ids": ["ETH-USD"], "channel": "ticker"},
    ]

    async def scenario():
        rec = await record_ws(sim.info.ws_url, sim.info, msgs, duration=0.6, gap_s=0.3)
        return rec

    rec = asyncio.run(scenario())
    acks = [f for f in rec.frames if f.get("channel") == "subscriptions"]
    assert acks[-1]["events"][0]["subscriptions"] == {}
    last_ack = rec.frames.index(acks[-1])
    assert not [f for f in rec.frames[last_ack + 1 :] if f.get("channel") == "ticker"]


def test_connections_that_do_not_subscribe_or_go_idle_are_closed(make_sim):
    st = make_sim(ws_timeouts=WsTimeouts(subscribe_s=0.3, idle_s=0.6))
    silent = asyncio.run(record_ws(st.info.ws_url, st.info, [], duration=2.0))
    assert silent.close_code == 1000
    assert silent.closed_after_s < 1.5
    status_only = [{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "status"}]
    idle = asyncio.run(record_ws(st.info.ws_url, st.info, status_only, duration=3.0))
    assert idle.close_code == 1000
    assert 0.5 < idle.closed_after_s < 2.5
    beating = [*status_only, {"type": "subscribe", "product_ids": [], "channel": "heartbeats"}]
    alive = asyncio.run(record_ws(st.info.ws_url, st.info, beating, duration=1.5))
    assert alive.close_code is None
