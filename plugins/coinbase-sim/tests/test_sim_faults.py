"""Fault injection: each kind happens as configured, and the same seed repeats it exactly."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
import requests
from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.faults import (
    FaultInjector,
    FaultSpecError,
    parse_spec,
)
from gpt_trader_coinbase_sim.testing import admin, record_ws, ssl_context

MARKET_SUBS = [
    {"type": "subscribe", "product_ids": [], "channel": "heartbeats"},
    {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "ticker"},
    {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
]


def test_spec_grammar():
    cfg = parse_spec(
        "seed=9,latency=10ms..50ms,429=10%,5xx=0.05,ambiguous=0.1,ambiguous_mode=drop,"
        "ambiguous_delay=2s,ws_drop=0.01,ws_1001=0.02,gap=0.02,dup=0.02,reorder=0.02,"
        "stall=10s@1m,ratelimit=30,paths=/orders|/accounts"
    )
    assert cfg.seed == 9
    assert cfg.latency == (0.01, 0.05)
    assert cfg.p429 == 0.1
    assert cfg.ambiguous_mode == "drop"
    assert cfg.ambiguous_delay == 2
    assert (cfg.stall, cfg.stall_after) == (10, 60)
    assert cfg.paths == ("/orders", "/accounts")
    assert parse_spec({"429": 0.5, "latency": "1s"}).p429 == 0.5
    for bad in ("429=2", "latency=fast", "nope=1", "gap", "ambiguous_mode=maybe"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)


def test_same_seed_same_decisions():
    spec = parse_spec(
        "429=0.2,5xx=0.2,ambiguous=0.3,latency=1ms..9ms,gap=0.1,dup=0.1,reorder=0.1,ws_drop=0.05"
    )

    def run(seed: int) -> tuple[list, list]:
        inj = FaultInjector(spec, default_seed=seed)
        rest = [inj.rest("POST", "/orders") for _ in range(300)]
        stream = inj.ws_stream()
        ws = [stream.next().kind for _ in range(300)]
        return rest, ws

    assert run(1) == run(1)
    assert run(1) != run(2)
    rest, ws = run(1)
    assert {r.status for r in rest} == {0, 429, 500, 503}
    assert {r.ambiguous for r in rest} == {"", "delay", "drop"}
    assert {"gap", "dup", "reorder", "drop"} <= set(ws)


def _outcomes(st, monkeypatch, n=30) -> list[int]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", st.info.cert_file)
    client = RESTClient(key_file=st.info.key_file, base_url=st.info.rest_base_url)
    out = []
    limited: list[requests.Response] = []
    for _ in range(n):
        try:
            client.get_accounts()
            out.append(200)
        except requests.HTTPError as e:
            out.append(e.response.status_code)
            if e.response.status_code == 429:
                limited.append(e.response)
    for resp in limited:
        headers = set(resp.headers)
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= headers
        assert resp.headers["x-ratelimit-remaining"] == "0"
    return out


def test_rest_faults_repeat_for_the_same_seed(make_sim, monkeypatch):
    spec = "seed=3,429=0.2,5xx=0.2,latency=2ms..10ms"
    first = _outcomes(make_sim(faults=spec), monkeypatch)
    second = _outcomes(make_sim(faults=spec), monkeypatch)
    assert first == second
    assert {200, 429} <= set(first)
    assert {500, 503} & set(first)
    other = _outcomes(make_sim(faults="seed=4,429=0.2,5xx=0.2"), monkeypatch)
    assert other != first


def test_latency_and_real_rate_limit(make_sim, monkeypatch):
    st = make_sim(faults="latency=150ms,paths=/time")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", st.info.cert_file)
    client = RESTClient(key_file=st.info.key_file, base_url=st.info.rest_base_url)
    t0 = time.perf_counter()
    client.get_unix_time()
    assert time.perf_counter() - t0 >= 0.15
    client.get_accounts()  # not under paths=/time: no latency injected on it
    log = admin(st.info, "GET", "/faults")["log"]
    assert [e["where"] for e in log if e["kind"] == "latency"] == ["rest:GET /time"]
    admin(st.info, "POST", "/faults", {"spec": "ratelimit=5"})
    codes = [c for c in _outcomes(st, monkeypatch, n=12)]
    assert 429 in codes
    assert codes[:5] == [200] * 5


def test_ambiguous_order_is_in_the_ledger(make_sim, monkeypatch):
    st = make_sim(faults="ambiguous=1,ambiguous_mode=drop")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", st.info.cert_file)
    client = RESTClient(key_file=st.info.key_file, base_url=st.info.rest_base_url)
    dropped = uuid.uuid4().hex
    with pytest.raises(requests.ConnectionError):
        client.limit_order_gtc_buy(dropped, "BTC-USD", "0.001", "1000.00")
    admin(
        st.info, "POST", "/faults", {"spec": "ambiguous=1,ambiguous_mode=delay,ambiguous_delay=1s"}
    )
    slow = RESTClient(key_file=st.info.key_file, base_url=st.info.rest_base_url, timeout=0.3)
    delayed = uuid.uuid4().hex
    with pytest.raises(requests.Timeout):
        slow.limit_order_gtc_buy(delayed, "BTC-USD", "0.001", "1000.00")
    admin(st.info, "DELETE", "/faults")
    open_ids = {o.client_order_id for o in client.list_orders(order_status=["OPEN"]).orders}
    assert {dropped, delayed} <= open_ids
    # the retry with the same client_order_id gets the original order, not a second one
    again = client.limit_order_gtc_buy(dropped, "BTC-USD", "0.001", "1000.00")
    assert again.success is True
    assert len([o for o in client.list_orders().orders if o.client_order_id == dropped]) == 1
    kinds = {e["kind"] for e in admin(st.info, "GET", "/faults")["log"]}
    assert kinds == set() or kinds <= {"ambiguous_drop", "ambiguous_delay"}


def _frames(st, n=60):
    return asyncio.run(record_ws(st.info.ws_url, st.info, MARKET_SUBS, duration=8, max_frames=n))


def test_ws_gap_dup_reorder_repeat_for_the_same_seed(make_sim):
    spec = "seed=11,gap=0.1,dup=0.1,reorder=0.1"
    a = _frames(make_sim(faults=spec)).seqs()
    b = _frames(make_sim(faults=spec)).seqs()
    assert a == b
    assert any(y - x > 1 for x, y in itertools.pairwise(a))  # a gap
    assert any(y == x for x, y in itertools.pairwise(a))  # a duplicate
    assert any(y < x for x, y in itertools.pairwise(a))  # out of order
    clean = _frames(make_sim(faults="seed=11")).seqs()
    assert clean == list(range(len(clean)))


def test_ws_drop_and_going_away(make_sim):
    drop = "seed=5,ws_drop=0.05"
    st1, st2 = make_sim(faults=drop), make_sim(faults=drop)
    r1 = asyncio.run(record_ws(st1.info.ws_url, st1.info, MARKET_SUBS, duration=8))
    r2 = asyncio.run(record_ws(st2.info.ws_url, st2.info, MARKET_SUBS, duration=8))
    assert r1.close_code == r2.close_code == 1006  # torn down, no close frame
    assert r1.seqs() == r2.seqs()
    st3 = make_sim(faults="seed=5,ws_1001=0.05")
    r3 = asyncio.run(record_ws(st3.info.ws_url, st3.info, MARKET_SUBS, duration=8))
    assert r3.close_code == 1001


def test_stalled_feed_keeps_heartbeats(make_sim):
    st = make_sim()

    async def scenario():
        task = asyncio.create_task(record_ws(st.info.ws_url, st.info, MARKET_SUBS, duration=1.6))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(admin, st.info, "POST", "/faults", {"stall": "0.6s"})
        return time.monotonic(), await task

    t_stall, rec = asyncio.run(scenario())
    during = {
        f["channel"]
        for f, t in zip(rec.frames, rec.times, strict=True)
        if t_stall + 0.05 < t < t_stall + 0.55
    }
    after = {f["channel"] for f, t in zip(rec.frames, rec.times, strict=True) if t > t_stall + 0.7}
    assert during == {"heartbeats"}
    assert {"ticker", "l2_data", "heartbeats"} <= after


def test_admin_needs_the_token(sim):
    req = urllib.request.Request(sim.info.admin_url + "/status")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=ssl_context(sim.info), timeout=5)
    assert err.value.code == 403
    status = admin(sim.info, "GET", "/status")
    assert status["internal_errors"] == 0
    assert status["products"] == ["BTC-USD", "ETH-USD", "BTC-USDC", "ETH-USDC"]
    bad = urllib.request.Request(
        sim.info.admin_url + "/faults",
        data=json.dumps({"spec": "429=7"}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {sim.info.admin_token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, context=ssl_context(sim.info), timeout=5)
    assert err.value.code == 400
