"""SimBroker: the Broker protocol, listener delivery, market dispatch, the state file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import BookUpdate, Fill, Order, OrderStatus, Ticker
from gpt_trader.errors import BrokerError, UserError
from gpt_trader.protocols import Broker, MarketDrivenBroker
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from simkit import NS, T0, D, bar, req, trade


class Listener:
    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.log: list[str] = []

    def on_order(self, order: Order) -> None:
        self.orders.append(order)
        self.log.append(f"order {order.client_order_id} {order.status.value}")

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.log.append(f"fill {fill.client_order_id} {fill.trade_id}")


class Tap:
    """A second exchange listener: the ground truth of what the exchange emitted."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def on_order(self, order: Order) -> None:
        self.log.append(f"order {order.client_order_id} {order.status.value}")

    def on_fill(self, fill: Fill) -> None:
        self.log.append(f"fill {fill.client_order_id} {fill.trade_id}")


def exchange(**kw: object) -> SimExchange:
    return SimExchange(default_products(["BTC-USD"]), {"USD": D(10_000)}, **kw)  # type: ignore[arg-type]


def test_sim_broker_implements_the_protocols() -> None:
    broker = SimBroker(exchange())
    assert isinstance(broker, Broker)
    assert isinstance(broker, MarketDrivenBroker)


async def test_listener_sees_every_update_exactly_once_in_order() -> None:
    ex = exchange()
    tap = Tap()
    ex.add_listener(tap)
    broker = SimBroker(ex)
    listener = Listener()
    await broker.start(listener)
    broker.on_market(bar("100.00", "100.50", "99.50", "100.00", n=0))
    filled = await broker.submit(req("m", "BUY", "1"))
    assert filled.status is OrderStatus.FILLED
    await broker.submit(req("r", "BUY", "2", "99.00"))
    broker.on_market(trade("98.00", "0.5", ts=T0 + 61 * NS))
    assert await broker.cancel(["r", "unknown"]) == {"r": True, "unknown": False}
    await broker.submit(req("m", "BUY", "1"))  # duplicate: nothing new
    assert listener.log == tap.log
    assert listener.log == [
        "order m OPEN",
        f"fill m {listener.fills[0].trade_id}",
        "order m FILLED",
        "order r OPEN",
        f"fill r {listener.fills[1].trade_id}",
        "order r PARTIALLY_FILLED",
        "order r CANCELLED",
    ]
    assert listener.fills == await broker.fills()
    assert len({f.trade_id for f in listener.fills}) == len(listener.fills)


async def test_updates_before_start_are_delivered_at_start_in_order() -> None:
    ex = exchange()
    broker = SimBroker(ex)
    broker.on_market(bar("100.00", "100.50", "99.50", "100.00", n=0))
    await broker.submit(req("early", "BUY", "1"))
    listener = Listener()
    await broker.start(listener)
    assert [line.split()[0] for line in listener.log] == ["order", "fill", "order"]
    assert listener.orders[-1].status is OrderStatus.FILLED


async def test_on_market_dispatches_each_event_kind() -> None:
    broker = SimBroker(exchange())
    listener = Listener()
    await broker.start(listener)
    broker.on_market(Ticker("BTC-USD", T0, D("100.00"), D("99.90"), D("100.10")))
    order = await broker.submit(req("t", "BUY", "1"))
    assert order.avg_fill_price == D("100.10")  # the ticker's ask
    broker.on_market(BookUpdate("BTC-USD", T0 + NS, (), ((D("100.50"), D("0.4")),), True))
    order = await broker.submit(req("b", "BUY", "0.4"))
    assert order.avg_fill_price == D("100.50")  # walked the book
    await broker.submit(req("l", "BUY", "1", "99.00"))
    broker.on_market(trade("98.00", "1", ts=T0 + 2 * NS))
    assert (await broker.order("l")).status is OrderStatus.FILLED  # type: ignore[union-attr]
    await broker.submit(req("c", "BUY", "1", "90.00"))
    broker.on_market(bar("99", "99", "89", "95", n=1))
    assert (await broker.order("c")).status is OrderStatus.FILLED  # type: ignore[union-attr]


async def test_orders_are_stamped_with_market_time_unless_a_clock_is_given() -> None:
    broker = SimBroker(exchange())
    broker.on_market(bar("100", "101", "99", "100", n=3))
    order = await broker.submit(req("a", "BUY", "1", "90.00"))
    assert order.created_ts == T0 + 4 * 60 * NS  # the bar's close
    clocked = SimBroker(exchange(), clock=lambda: 42)
    order = await clocked.submit(req("b", "BUY", "1", "90.00"))
    assert order.created_ts == 42


async def test_positions_balances_products_and_edit_errors() -> None:
    broker = SimBroker(exchange())
    broker.on_market(trade("100.00", "1", ts=T0))
    await broker.submit(req("m", "BUY", "1.5"))
    [pos] = await broker.positions()
    # A venue reports the account's holding, not a cost basis: that is the kernel's own.
    assert (pos.size, pos.avg_entry_price, pos.mark_price) == (D("1.5"), D(0), D("100.00"))
    balances = {b.currency: b for b in await broker.balances()}
    assert balances["BTC"].total == D("1.5")
    assert balances["USD"].total == D(10_000) - D("150") - D("0.90")
    assert [p.symbol for p in await broker.products()] == ["BTC-USD"]
    await broker.submit(req("e", "BUY", "1", "90.00"))
    edited = await broker.edit("e", size=D("2"), price=None)
    assert edited.size == D("2")
    with pytest.raises(BrokerError, match="EDIT_NOT_LIMIT"):
        await broker.edit("m", size=D("3"), price=None)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_state_file_lets_a_restarted_broker_find_the_same_exchange(tmp_path: Path) -> None:
    state = tmp_path / "state" / "sim_exchange.json"
    first = SimBroker(exchange(), state_file=state)
    await first.start(Listener())
    first.on_market(bar("100.00", "100.50", "99.50", "100.00", n=0))
    await first.submit(req("filled", "BUY", "1"))
    await first.submit(req("resting", "BUY", "1", "95.00"))
    assert state.is_file()
    assert _files(state.parent) == ["sim_exchange.json"]  # no temp file left behind
    saved = json.loads(state.read_text())
    assert [o["client_order_id"] for o in saved["orders"]] == ["filled", "resting"]
    assert [o["status"] for o in saved["orders"]] == ["FILLED", "OPEN"]
    assert Decimal(saved["ledger"]["total"]["BTC"]) == 1
    # a crash: no stop(); the second run builds a fresh exchange on the same state file
    second = SimBroker(exchange(), state_file=state)
    listener = Listener()
    await second.start(listener)
    assert [o.client_order_id for o in await second.open_orders()] == ["resting"]
    assert await second.order("filled") == await first.order("filled")
    assert await second.fills() == await first.fills()
    assert await second.balances() == await first.balances()
    again = await second.submit(req("filled", "BUY", "1"))
    assert again == await first.order("filled")
    assert listener.log == []
    second.on_market(bar("96", "97", "94", "95", n=1))
    resting = await second.order("resting")
    assert resting is not None
    assert resting.status is OrderStatus.FILLED
    assert listener.log[-1] == "order resting FILLED"
    await second.stop()
    third = SimBroker(exchange(), state_file=state)
    assert await third.open_orders() == []
    usd = {b.currency: b for b in await third.balances()}["USD"]
    assert usd.total == usd.available
    assert usd.total == D(10_000) - D("100.60") - D("95.00") - D("0.38")


class OnDisk(Listener):
    """A listener that reads the state file each time it is told something: what a bot
    killed at that moment would find at its restarted "exchange"."""

    def __init__(self, state: Path) -> None:
        super().__init__()
        self.state = state
        self.unsaved: list[str] = []

    def _saved(self) -> dict[str, list[dict[str, str]]]:
        if not self.state.exists():
            return {"orders": [], "fills": []}
        return json.loads(self.state.read_text())  # type: ignore[no-any-return]

    def on_order(self, order: Order) -> None:
        super().on_order(order)
        # The file holds the call's end state: the order, perhaps further along.
        if order.client_order_id not in {o["client_order_id"] for o in self._saved()["orders"]}:
            self.unsaved.append(self.log[-1])

    def on_fill(self, fill: Fill) -> None:
        super().on_fill(fill)
        if fill.trade_id not in {f["trade_id"] for f in self._saved()["fills"]}:
            self.unsaved.append(self.log[-1])


async def test_the_listener_hears_of_a_fill_only_once_the_state_file_holds_it(
    tmp_path: Path,
) -> None:
    # A venue records a fill before it reports it. Reported first, a kill before the save
    # left a bot holding a fill its restarted exchange had forgotten, and the exchange then
    # gave that trade id to another fill, which the bot dropped as a duplicate (a dev run's
    # book 0.5 SOL off its exchange after kill -9).
    state = tmp_path / "sim_exchange.json"
    broker = SimBroker(exchange(), state_file=state)
    listener = OnDisk(state)
    await broker.start(listener)
    broker.on_market(bar("100.00", "100.50", "99.50", "100.00", n=0))
    await broker.submit(req("m", "BUY", "1"))
    await broker.submit(req("r", "BUY", "2", "99.00"))
    broker.on_market(trade("98.00", "0.5", ts=T0 + 61 * NS))
    await broker.cancel(["r"])
    assert [line.split()[0] for line in listener.log] == [
        "order", "fill", "order", "order", "fill", "order", "order"
    ]  # fmt: skip
    assert listener.unsaved == []
    # Without a state file nothing is held back: the same updates, as they happen.
    plain = SimBroker(exchange())
    heard = Listener()
    await plain.start(heard)
    plain.on_market(bar("100.00", "100.50", "99.50", "100.00", n=0))
    await plain.submit(req("m", "BUY", "1"))
    assert heard.log[0] == "order m OPEN"


def test_a_damaged_state_file_is_a_one_line_user_error(tmp_path: Path) -> None:
    state = tmp_path / "sim_exchange.json"
    state.write_text("{not json")
    with pytest.raises(UserError) as err:
        SimBroker(exchange(), state_file=state)
    assert "\n" not in str(err.value)
    assert str(state) in str(err.value)
    state.write_text(json.dumps({"version": 1, "orders": []}))
    with pytest.raises(UserError, match="damaged"):
        SimBroker(exchange(), state_file=state)


async def test_state_for_a_product_no_longer_traded_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "sim_exchange.json"
    eth = SimExchange(default_products(["ETH-USD"]), {"USD": Decimal(1000)})
    broker = SimBroker(eth, state_file=state)
    await broker.submit(req("x", "BUY", "0.1", "100.00", symbol="ETH-USD"))
    with pytest.raises(UserError, match="ETH-USD"):
        SimBroker(exchange(), state_file=state)
