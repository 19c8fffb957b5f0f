"""coinbase.spot against the simulator over real sockets: every Broker call, every order kind,
the listener contract (fills once, by trade id, before the order update that carries them),
ambiguous submits resolved without resending, cancels in batches of 100."""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext
from gpt_trader.domain import Fill, Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from gpt_trader.errors import BrokerError, UserError
from gpt_trader_coinbase.convert import WireError
from gpt_trader_coinbase.spot.params import SpotBrokerParams
from gpt_trader_coinbase.spot.plugin import make_spot_broker
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import admin

D = Decimal


@pytest.fixture(scope="module")
def bsim(tmp_path_factory):
    st = SimulatorThread(
        tmp_path_factory.mktemp("bsim"),
        seed=5,
        tick_s=0.1,
        history_minutes=30,
        heartbeat_s=0.1,
        balances={"USD": D("5000000")},
    )
    st.start()
    yield st
    errors = st.state.internal_errors
    st.stop()
    assert errors == 0


@pytest.fixture(autouse=True)
def no_faults(bsim):
    admin(bsim.info, "DELETE", "/faults")
    yield
    admin(bsim.info, "DELETE", "/faults")


class Recorder:
    """A BrokerListener that checks the contract as it records."""

    def __init__(self) -> None:
        self.events: list[Order | Fill] = []
        self.fill_size: dict[str, D] = collections.defaultdict(D)

    def on_fill(self, fill: Fill) -> None:
        self.events.append(fill)
        self.fill_size[fill.client_order_id] += fill.size

    def on_order(self, order: Order) -> None:
        # Never told an order is done before all of its fills arrived.
        assert order.filled_size <= self.fill_size[order.client_order_id], order
        if order.status is OrderStatus.FILLED:
            assert self.fill_size[order.client_order_id] == order.size
        self.events.append(order)

    def fills(self) -> list[Fill]:
        return [e for e in self.events if isinstance(e, Fill)]

    def last(self, cid: str) -> Order | None:
        found = [e for e in self.events if isinstance(e, Order) and e.client_order_id == cid]
        return found[-1] if found else None

    async def wait(self, cid: str, status: OrderStatus, within: float = 5.0) -> Order:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            last = self.last(cid)
            if last is not None and last.status is status:
                return last
            await asyncio.sleep(0.02)
        raise AssertionError(f"{cid} never reached {status}: last {self.last(cid)}")


def broker_for(sim, tmp_path: Path, **params):
    ctx = BuildContext(
        profile="t",
        mode="paper",
        universe=("BTC-USD", "ETH-USD", "BTC-USDC"),
        products={},
        state_dir=tmp_path,
    )
    base = {
        "sim_json": str(Path(sim.info.state_dir) / "sim.json"),
        "private_rate": 300,
        "submit_timeout_s": 0.5,
        "reconcile_interval_s": 0.5,
        "user_silence_s": 1.0,
    }
    return make_spot_broker(SpotBrokerParams(**{**base, **params}), ctx)


def cid() -> str:
    return uuid.uuid4().hex


async def best(broker, symbol="BTC-USD") -> tuple[D, D]:
    book = await broker.rest.product_book(symbol, 1)
    pb = book["pricebook"]
    return D(pb["bids"][0]["price"]), D(pb["asks"][0]["price"])


async def test_products_balances_and_market_orders(bsim, tmp_path):
    broker = broker_for(bsim, tmp_path)
    rec = Recorder()
    try:
        products = {p.symbol: p for p in await broker.products()}
        assert products["BTC-USD"].base_increment == D("0.00000001")
        assert products["BTC-USD"].price_increment == D("0.01")
        assert products["BTC-USDC"].quote == "USDC"  # the USD book's alias
        usd = {b.currency: b for b in await broker.balances()}["USD"]
        assert usd.total > 0
        await broker.start(rec)
        await asyncio.wait_for(broker.user_connected.wait(), 5)
        buy = OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.01"))
        ack = await broker.submit(buy)
        assert ack.status in (OrderStatus.OPEN, OrderStatus.FILLED)
        assert ack.order_id
        done = await rec.wait(buy.client_order_id, OrderStatus.FILLED)
        assert done.filled_size == D("0.01")
        sell = OrderRequest(cid(), "BTC-USD", Side.SELL, D("0.004"))
        await broker.submit(sell)
        await rec.wait(sell.client_order_id, OrderStatus.FILLED)
        fills = rec.fills()
        ids = [f.trade_id for f in fills]
        assert len(ids) == len(set(ids))
        assert all(ids)
        venue = await broker.fills(time.time_ns() - 60 * 10**9)
        assert {f.trade_id for f in venue} >= set(ids)
        assert {f.client_order_id for f in venue} >= {buy.client_order_id, sell.client_order_id}
        positions = {p.symbol: p.size for p in await broker.positions()}
        assert positions["BTC-USD"] >= D("0.006")
        assert positions["BTC-USDC"] == 0  # one base currency counts once
        found = await broker.order(buy.client_order_id)
        assert found is not None
        assert found.status is OrderStatus.FILLED
        assert await broker.order("never-sent") is None
    finally:
        await broker.stop()


async def test_limit_kinds_edit_cancel_and_rejections(bsim, tmp_path):
    broker = broker_for(bsim, tmp_path)
    rec = Recorder()
    try:
        await broker.products()
        await broker.start(rec)
        bid, ask = await best(broker)
        far = (bid * D("0.8")).quantize(D("0.01"))
        gtc = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.LIMIT,
            far,
            time_in_force=TimeInForce.GTC,
            post_only=True,
        )
        assert (await broker.submit(gtc)).status is OrderStatus.OPEN
        edited = await broker.edit(gtc.client_order_id, size=D("0.002"), price=far - 1)
        assert edited.limit_price == far - 1
        assert edited.size == D("0.002")
        gtd = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.LIMIT,
            far,
            time_in_force=TimeInForce.GTD,
            end_ts=time.time_ns() + 3600 * 10**9,
        )
        assert (await broker.submit(gtd)).status is OrderStatus.OPEN
        stop = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.STOP_LIMIT,
            (ask * D("1.3")).quantize(D("0.01")),
            stop_price=(ask * D("1.2")).quantize(D("0.01")),
            time_in_force=TimeInForce.GTC,
        )
        assert (await broker.submit(stop)).status is OrderStatus.OPEN
        ioc = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.LIMIT,
            far,
            time_in_force=TimeInForce.IOC,
        )
        await broker.submit(ioc)
        await rec.wait(ioc.client_order_id, OrderStatus.CANCELLED)
        fok = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.LIMIT,
            ask * 2,
            time_in_force=TimeInForce.FOK,
        )
        await broker.submit(fok)
        await rec.wait(fok.client_order_id, OrderStatus.FILLED)
        cross = OrderRequest(
            cid(),
            "BTC-USD",
            Side.BUY,
            D("0.001"),
            OrderType.LIMIT,
            ask + 100,
            time_in_force=TimeInForce.GTC,
            post_only=True,
        )
        refused = await broker.submit(cross)
        assert refused.status is OrderStatus.REJECTED
        assert "POST_ONLY" in refused.reject_reason
        local = OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.001"), time_in_force=TimeInForce.GTC)
        calls = broker.rest.stats.requests
        assert (await broker.submit(local)).status is OrderStatus.REJECTED
        assert broker.rest.stats.requests == calls  # refused before sending
        opened = {o.client_order_id for o in await broker.open_orders()}
        assert {gtc.client_order_id, gtd.client_order_id, stop.client_order_id} <= opened
        result = await broker.cancel([gtc.client_order_id, gtd.client_order_id, "unknown-id"])
        assert result == {gtc.client_order_id: True, gtd.client_order_id: True, "unknown-id": False}
        await rec.wait(gtc.client_order_id, OrderStatus.CANCELLED)
        with pytest.raises(BrokerError, match=r"refused|no such order|only"):
            await broker.edit(gtc.client_order_id, size=D("0.003"), price=None)
        assert (await broker.cancel_all(["BTC-USD"]))[stop.client_order_id] is True
    finally:
        await broker.stop()


async def test_cancel_in_batches_of_100(bsim, tmp_path):
    broker = broker_for(bsim, tmp_path)
    try:
        bid, _ = await best(broker, "ETH-USD")
        price = (bid * D("0.5")).quantize(D("0.01"))
        reqs = [
            OrderRequest(
                cid(),
                "ETH-USD",
                Side.BUY,
                D("0.01"),
                OrderType.LIMIT,
                price,
                time_in_force=TimeInForce.GTC,
            )
            for _ in range(105)
        ]
        acks = await asyncio.gather(*(broker.submit(r) for r in reqs))
        assert all(a.status is OrderStatus.OPEN for a in acks)
        before = broker.rest.stats.by_path.get("POST /api/v3/brokerage/orders/batch_cancel", 0)
        result = await broker.cancel([r.client_order_id for r in reqs])
        assert all(result.values())
        assert len(result) == 105
        assert broker.rest.stats.by_path["POST /api/v3/brokerage/orders/batch_cancel"] - before == 2
        left = {o.client_order_id for o in await broker.open_orders()}
        assert not left & {r.client_order_id for r in reqs}
    finally:
        await broker.stop()


async def test_ambiguous_submit_is_resolved_never_resent(bsim, tmp_path, monkeypatch):
    broker = broker_for(bsim, tmp_path, submit_timeout_s=0.3)
    rec = Recorder()
    try:
        await broker.products()
        await broker.start(rec)
        await asyncio.wait_for(broker.user_connected.wait(), 5)
        admin(
            bsim.info,
            "POST",
            "/faults",
            {"spec": "ambiguous=1,ambiguous_mode=delay,ambiguous_delay=1s"},
        )
        reqs = [OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.001")) for _ in range(3)]
        acks = [await broker.submit(r) for r in reqs]
        admin(bsim.info, "POST", "/faults", {"spec": "ambiguous=1,ambiguous_mode=drop"})
        dropped = OrderRequest(cid(), "ETH-USD", Side.BUY, D("0.01"))
        acks.append(await broker.submit(dropped))
        reqs.append(dropped)
        admin(bsim.info, "DELETE", "/faults")
        # The user channel may tell first; otherwise the submit says it does not know.
        assert all(
            a.status in (OrderStatus.UNKNOWN, OrderStatus.OPEN, OrderStatus.FILLED) for a in acks
        )
        assert broker.stats.ambiguous_submits == 4
        for r in reqs:
            await rec.wait(r.client_order_id, OrderStatus.FILLED)
            assert broker.stats.create_calls[r.client_order_id] == 1
        venue = [
            o
            for o in bsim.state.venue.orders()
            if o.client_order_id in {r.client_order_id for r in reqs}
        ]
        assert len(venue) == len(reqs)  # each placed exactly once
        # A 5xx: nothing placed (the fault fires before the venue); found nowhere after the grace.
        admin(bsim.info, "POST", "/faults", {"spec": "5xx=1,paths=/orders"})
        lost = OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.001"))
        assert (await broker.submit(lost)).status is OrderStatus.UNKNOWN
        admin(bsim.info, "DELETE", "/faults")
        assert (await broker.order(lost.client_order_id)).status is OrderStatus.UNKNOWN  # grace
        await asyncio.sleep(1.1)
        assert await broker.order(lost.client_order_id) is None
        assert broker.stats.create_calls[lost.client_order_id] == 1
    finally:
        await broker.stop()


async def test_a_late_reply_for_an_order_the_venue_already_showed_is_not_ambiguous(bsim, tmp_path):
    """Kept ambiguous for its grace, such an order made every funding read of a derivative
    venue skip as "in flight" (chaos, intx seed 100038)."""
    broker = broker_for(bsim, tmp_path, submit_timeout_s=1.5)
    rec = Recorder()
    try:
        await broker.products()
        await broker.start(rec)
        await asyncio.wait_for(broker.user_connected.wait(), 5)
        admin(
            bsim.info,
            "POST",
            "/faults",
            {"spec": "ambiguous=1,ambiguous_mode=delay,ambiguous_delay=3s"},
        )
        req = OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.001"))
        ack = await broker.submit(req)  # the user channel shows it within the 1.5 s timeout
        admin(bsim.info, "DELETE", "/faults")
        assert broker.stats.ambiguous_submits == 1
        assert ack.status in (OrderStatus.OPEN, OrderStatus.FILLED)
        assert req.client_order_id not in broker._ambiguous
        assert broker.stats.create_calls[req.client_order_id] == 1
    finally:
        await broker.stop()


async def test_rate_limits_and_server_errors_are_retried(bsim, tmp_path):
    broker = broker_for(bsim, tmp_path, reconcile_interval_s=30)
    rec = Recorder()
    try:
        await broker.products()
        await broker.start(rec)
        admin(bsim.info, "POST", "/faults", {"spec": "seed=4,429=0.4"})
        reqs = [OrderRequest(cid(), "BTC-USD", Side.BUY, D("0.001")) for _ in range(4)]
        for r in reqs:
            assert (await broker.submit(r)).status in (OrderStatus.OPEN, OrderStatus.FILLED)
        admin(
            bsim.info,
            "POST",
            "/faults",
            {"spec": "seed=4,5xx=0.4,paths=/accounts|/orders/historical"},
        )
        for _ in range(3):
            assert await broker.balances()
            await broker.open_orders()
        admin(bsim.info, "DELETE", "/faults")
        for r in reqs:
            await rec.wait(r.client_order_id, OrderStatus.FILLED)
        stats = broker.rest.stats
        assert stats.rate_limited > 0
        assert stats.server_errors > 0
        assert stats.retries > 0
        assert all(broker.stats.create_calls[r.client_order_id] == 1 for r in reqs)
    finally:
        await broker.stop()


def test_live_broker_needs_live_flag_and_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("COINBASE_API_KEY", raising=False)
    monkeypatch.delenv("COINBASE_API_SECRET", raising=False)
    monkeypatch.delenv("GPT_TRADER_COINBASE_SIM", raising=False)
    ctx = BuildContext(
        profile="prod", mode="live", universe=("BTC-USD",), products={}, state_dir=tmp_path
    )
    with pytest.raises(UserError, match="--live"):
        make_spot_broker(SpotBrokerParams(), ctx)
    live = BuildContext(
        profile="prod",
        mode="live",
        universe=("BTC-USD",),
        products={},
        state_dir=tmp_path,
        options={"live": True},
    )
    with pytest.raises(UserError, match="COINBASE_API_KEY"):
        make_spot_broker(SpotBrokerParams(), live)


async def test_a_spoiled_accounts_reply_is_refused_never_read_as_zero(sims, tmp_path):
    """An accounts reply missing its list, a balance part or its value is unreadable: read
    as no coins, it once made the reconcile shrink the bot's inventory to nothing."""
    sim = sims(seed=3, balances={"USD": D("1000"), "BTC": D("0.5"), "ETH": D("2")})
    broker = broker_for(sim, tmp_path, reconcile_interval_s=30)
    truth = {"BTC-USD": D("0.5"), "ETH-USD": D("2")}
    refused = 0
    try:
        admin(
            sim.info,
            "POST",
            "/faults",
            {"spec": "seed=9,malformed=1,paths=/accounts,malformed_kinds=missing|type"},
        )
        for _ in range(60):
            try:
                held = {p.symbol: p.size for p in await broker.positions()}
            except WireError:
                refused += 1
                continue
            assert {s: held[s] for s in truth} == truth
        admin(sim.info, "DELETE", "/faults")
    finally:
        await broker.stop()
    assert refused > 0
    assert broker.malformed.count == refused, "each refusal is one counted line"


async def test_a_spoiled_products_reply_is_refused_never_a_shorter_listing(sims, tmp_path):
    """A products page whose list is missing or spoiled was once read as fewer products (a
    universe symbol then looked unlisted): it is unreadable, counted, and read again."""
    sim = sims(seed=3)
    broker = broker_for(sim, tmp_path)
    try:
        listed = {p.symbol for p in await broker.products()}
        admin(
            sim.info,
            "POST",
            "/faults",
            {"spec": "seed=9,malformed=1,paths=/products,malformed_kinds=missing|type"},
        )
        refused = 0
        for _ in range(40):
            try:
                got = {p.symbol for p in await broker.products()}
            except WireError:
                refused += 1
                continue
            assert got == listed
        admin(sim.info, "DELETE", "/faults")
        assert {p.symbol for p in await broker.products()} == listed
    finally:
        await broker.stop()
    assert refused > 0
    assert broker.malformed.count == refused, "each refusal is one counted line"
