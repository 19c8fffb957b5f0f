"""Malformed exchange payloads, generated: the adapter reads them or refuses them, never
crashes, says so in one line, counts them, pauses entries where its picture of orders may be
wrong, and never hands the kernel a fill twice.

The payloads are Coinbase's own samples (the simulator's test data) spoiled by the
simulator's fault injector (:func:`gpt_trader_coinbase_sim.mangle.mangle`: wrong types,
missing fields, unknown enum values, truncated JSON, huge numbers), at places hypothesis
chooses, plus arbitrary JSON. Everything here runs in-process on the adapter's own parsing
code; ``adapter/test_payloads_e2e.py`` does the same through the simulator on loopback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import Balance, Fill, Order
from gpt_trader_coinbase import convert
from gpt_trader_coinbase.convert import MAX_MAGNITUDE, WireError
from gpt_trader_coinbase.malformed import MalformedPayloads
from gpt_trader_coinbase.rest import RestClient, _body_of
from gpt_trader_coinbase.spot.broker import CoinbaseSpotBroker
from gpt_trader_coinbase.stream import Frame, Notice, WsStream
from gpt_trader_coinbase.target import PRODUCTION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The spoiling is the simulator's fault injector: without the [sim] extra (nox -s
# coinbase_alone) this module skips, as the other simulator-backed tests do.
_mangle = pytest.importorskip(
    "gpt_trader_coinbase_sim.mangle", reason="the Coinbase simulator is not installed"
)
KINDS, mangle = _mangle.KINDS, _mangle.mangle

SAMPLES = Path(__file__).parents[2] / "coinbase-sim" / "tests" / "data"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())


ORDER = sample("rest_get_order")["order"]
FILL = sample("rest_list_fills")["fills"][0]
ACCOUNT = sample("rest_list_accounts")["accounts"][0]
CREATE = sample("rest_create_order_success")
USER_UPDATE = sample("ws_user_update")
WS_ORDER = USER_UPDATE["events"][0]["orders"][0]
FRAMES = [
    sample(n)
    for n in (
        "ws_user_update",
        "ws_user_snapshot",
        "ws_level2_update",
        "ws_market_trades",
        "ws_ticker",
        "ws_heartbeats",
    )
]

# reader name -> (sample, read it)
READERS: dict[str, tuple[Any, Any]] = {
    "order_from_rest": (ORDER, convert.order_from_rest),
    "order_from_ws": (WS_ORDER, lambda o: convert.order_from_ws(o, 1)),
    "fill_from_rest": (FILL, lambda f: convert.fill_from_rest(f, "cid")),
    "balance_from_account": (ACCOUNT, convert.balance_from_account),
}

kinds = st.sampled_from(KINDS)
seeds = st.integers(0, 2**32)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["BUY", "FILLED", "9" * 60, "1e999", "", "user", "l2_data"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def spoiled(doc: Any, kind: str, seed: int) -> Any:
    """The document as the injector spoils it, parsed again (None when it is not JSON)."""
    try:
        return json.loads(mangle(doc, kind, random.Random(seed)))  # type: ignore[arg-type]
    except ValueError:
        return None


def sane(obj: Order | Fill | Balance) -> None:
    """What a reader may hand on: amounts in range, ids of the right kind."""
    if isinstance(obj, Fill):
        assert obj.trade_id
        assert obj.order_id
        assert obj.symbol
        assert 0 < obj.price < MAX_MAGNITUDE
        assert 0 < obj.size < MAX_MAGNITUDE
    elif isinstance(obj, Order):
        assert obj.order_id
        assert 0 <= obj.filled_size < MAX_MAGNITUDE
        assert abs(obj.size) < MAX_MAGNITUDE
    else:
        assert obj.currency
        assert abs(obj.total) < 2 * MAX_MAGNITUDE


# -- readers ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(READERS)), kinds, seeds)
def test_a_spoiled_payload_is_read_or_refused_with_a_wire_error(name, kind, seed):
    doc, read = READERS[name]
    bad = spoiled(doc, kind, seed)
    if bad is None:
        # Truncated: the REST client never gets as far as a reader.
        assert _body_of(mangle(doc, kind, random.Random(seed)).encode())[0] is None  # type: ignore[arg-type]
        return
    try:
        obj = read(bad)
    except WireError as exc:
        why = str(exc)
        assert why
        assert "\n" not in why
        return
    sane(obj)


@FAST
@given(st.sampled_from(sorted(READERS)), json_values)
def test_arbitrary_json_is_read_or_refused_with_a_wire_error(name, value):
    _, read = READERS[name]
    try:
        obj = read(value)
    except WireError:
        return
    sane(obj)


@FAST
@given(kinds, seeds)
def test_a_spoiled_create_reply_is_readable_or_named(kind, seed):
    bad = spoiled(CREATE, kind, seed)
    if not isinstance(bad, dict):
        return  # not an object: the REST client's own refusal (above)
    problem = convert.create_reply_problem(bad)
    if not problem:
        assert isinstance(bad["success"], bool)
        if bad["success"]:
            oid = (bad.get("success_response") or {}).get("order_id") or bad.get("order_id")
            assert isinstance(oid, str)
            assert oid


def test_the_unspoiled_samples_read():
    for doc, read in READERS.values():
        sane(read(doc))
    assert convert.create_reply_problem(CREATE) == ""


# -- WebSocket frames -----------------------------------------------------------------------


def stream() -> WsStream:
    return WsStream(
        "wss://127.0.0.1:1/ws",
        subscriptions=[],
        credentials=None,
        ssl_context=None,
        session=lambda: None,  # type: ignore[arg-type,return-value]
        name="test",
    )


def parse_frame(text: str, caplog: pytest.LogCaptureFixture) -> tuple[Any, WsStream]:
    ws = stream()
    caplog.clear()
    return ws._parse(text, 1), ws


@FAST
@given(st.sampled_from(range(len(FRAMES))), kinds, seeds)
def test_a_spoiled_frame_is_parsed_or_left_out_in_one_line(caplog, index, kind, seed):
    text = mangle(FRAMES[index], kind, random.Random(seed))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="gpt_trader_coinbase"):
        out, ws = parse_frame(text, caplog)
    if out is None:
        assert ws.stats.parse_errors == ws.malformed.count == 1
        lines = [r for r in caplog.records if r.name == "gpt_trader_coinbase.malformed"]
        assert len(lines) == 1
        assert lines[0].exc_info is None
    else:
        assert isinstance(out, (Frame, Notice))
        if isinstance(out, Frame):
            assert isinstance(out.channel, str)
            assert isinstance(out.events, list)


@FAST
@given(json_values)
def test_arbitrary_json_frames_never_raise(caplog, value):
    out, ws = parse_frame(json.dumps(value), caplog)
    assert out is None or isinstance(out, (Frame, Notice))
    assert ws.malformed.count == (1 if out is None else 0)


# -- the user channel and fills -------------------------------------------------------------


class Recorder:
    """The kernel's side of the broker, recorded (a BrokerListener with a pause slot)."""

    def __init__(self) -> None:
        self.entries_paused = ""
        self.pauses: list[str] = []
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.events: list[Any] = []

    def pause_entries(self, reason: str) -> None:
        self.entries_paused = reason
        self.pauses.append(reason)

    def resume_entries(self) -> None:
        self.entries_paused = ""

    def on_order(self, order: Order) -> None:
        self.orders.append(order)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def emit(self, event: Any) -> None:
        self.events.append(event)


def broker_with(listener: Recorder) -> CoinbaseSpotBroker:
    """A broker attached to ``listener`` without its user socket (nothing is awaited, so
    the REST calls it schedules never run: ``asyncio.run`` cancels them at the end)."""
    broker = CoinbaseSpotBroker(RestClient("127.0.0.1:1", credentials=None), PRODUCTION, None)  # type: ignore[arg-type]
    broker._listener = listener  # type: ignore[assignment]
    broker.malformed.listener = listener
    from gpt_trader_coinbase.pause import PauseGate

    broker._gate = PauseGate.for_listener(listener)
    return broker


def user_frame(doc: Any, seq: int = 5) -> Frame:
    return Frame(doc.get("channel", ""), doc.get("events", []), seq, 1, 1)


@settings(max_examples=150, deadline=None)
@given(kinds, seeds)
def test_a_spoiled_user_update_never_crashes_and_pauses_entries(kind, seed):
    bad = spoiled(USER_UPDATE, kind, seed)
    if not isinstance(bad, dict) or not isinstance(bad.get("events"), list):
        return  # left out by the stream (above): a sequence gap, which resyncs

    async def go() -> tuple[Recorder, CoinbaseSpotBroker]:
        listener = Recorder()
        broker = broker_with(listener)
        broker._track(convert.order_from_ws(WS_ORDER, 0))  # ours, so no REST describe
        for body in broker._user_orders(user_frame(bad)):
            broker._on_ws_order(body, 2)
        return listener, broker

    listener, broker = asyncio.run(go())
    if broker.malformed.count:
        assert listener.pauses, "an unreadable order update must pause entries"
        assert "unreadable user-channel" in listener.pauses[0]
        assert [e.type for e in listener.events] == ["venue.malformed"] * broker.malformed.count
        assert broker.stats.resyncs >= 1
    for order in listener.orders:
        sane(order)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), kinds, seeds, st.booleans()), max_size=12))
def test_a_fill_is_never_handed_over_twice(deliveries):
    """Fill lists arrive again and again, each fill clean or spoiled: every trade reaches
    the kernel at most once, as the venue has it, and only clean."""
    originals = [{**FILL, "trade_id": f"t{i}", "size": f"0.00{i + 1}"} for i in range(3)]

    async def go() -> tuple[Recorder, CoinbaseSpotBroker]:
        listener = Recorder()
        broker = broker_with(listener)
        order = convert.order_from_rest({**ORDER, "client_order_id": "cid"})
        tr = broker._track(order)
        for index, kind, seed, spoil in deliveries:
            raw = originals[index]
            raw = spoiled(raw, kind, seed) if spoil else raw
            if not isinstance(raw, dict):
                continue
            try:
                broker._apply_fills(tr, [raw])
            except WireError as exc:
                broker._unreadable("fills", exc)
        return listener, broker

    listener, _broker = asyncio.run(go())
    ids = [f.trade_id for f in listener.fills]
    assert len(ids) == len(set(ids)), f"a fill was handed over twice: {ids}"
    by_id = {o["trade_id"]: o for o in originals}
    for fill in listener.fills:
        # A spoiled copy is never taken for the real one: the fill is the venue's own.
        assert fill.trade_id in by_id
        assert fill.size == Decimal(by_id[fill.trade_id]["size"])
        assert fill.price == Decimal(by_id[fill.trade_id]["price"])
        assert fill.fee == Decimal(by_id[fill.trade_id]["commission"])


def test_the_ops_metrics_count_malformed_payloads():
    """The event the adapter emits is one the ops plugin's metrics sink counts by type."""
    metrics = pytest.importorskip("gpt_trader_ops.metrics")
    sink = metrics.MetricsSink()
    listener = Recorder()
    payloads = MalformedPayloads("coinbase.spot", listener=listener)
    payloads.report("user-channel order", WireError("status: 'SOMETHING_NEW' is not one"))
    payloads.report("fills report", WireError("price: missing"))
    for event in listener.events:
        sink.handle(event)
    scraped = sink.scrape().decode()
    assert 'gpt_trader_events_total{type="venue.malformed"} 2.0' in scraped
