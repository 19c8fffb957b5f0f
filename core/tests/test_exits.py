"""``[exits]``: one venue bracket per position, levels from the entry's fills; the stop wins
a bar that touches both legs; a signal exit cancels the bracket first and never closes twice;
a restart adopts the working bracket instead of placing another."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import (
    Action,
    Candle,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    Side,
    SignalValue,
    Trade,
)
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.exits import (
    BRACKET_TAG,
    STOP_LIMIT_ROOM,
    STOP_TAG,
    TARGET_TAG,
    ExitPlan,
    ExitReason,
    exit_reason,
    is_bracket,
)
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.store.sink import StoreSink
from gpt_trader.store.store import Store
from gpt_trader.testing import FROZEN_TS, EventRecorder, First, manual_kernel

SYM = "BTC-USD"
NS = 1_000_000_000
MIN = 60 * NS
PLAN = ExitPlan.from_pcts(D(2), D(4))
STOP_ONLY = ExitPlan.from_pcts(D(2), None)
TARGET_ONLY = ExitPlan.from_pcts(None, D(4))
PRODUCT = Product(SYM, "BTC", "USD", D("0.00000001"), D("0.01"), D("0.00000001"), D(1000))


class Scripted:
    """A signal that says what the test sets in ``next``, once."""

    name = "scripted"

    def __init__(self) -> None:
        self.next: Action | None = None

    def update(self, event: Any) -> SignalValue | None:
        action, self.next = self.next, None
        return None if action is None else SignalValue(self.name, SYM, event.ts, action)


def _kernel(market_fill: str = "immediate", **parts: Any) -> tuple[Kernel, SimExchange, SimClock]:
    exchange = SimExchange(
        [PRODUCT], {"USD": D(100_000)}, market_fill=market_fill, maker_fee=D(0), taker_fee=D(0)
    )  # type: ignore[arg-type]
    clock = SimClock(FROZEN_TS)
    parts.setdefault("exits", PLAN)
    kernel = manual_kernel(exchange, clock, **parts)
    return kernel, exchange, clock


async def _trade(kernel: Kernel, clock: SimClock, price: str, n: int, taker: str = "SELL") -> None:
    ts = FROZEN_TS + n * NS
    clock.advance_to(ts)
    await kernel.on_market(Trade(SYM, ts, f"t{n}", D(price), D(1), taker))


def _bar(n: int, o: str, h: str, lo: str, c: str) -> Candle:
    ts = FROZEN_TS + n * MIN
    return Candle(SYM, ts, D(o), D(h), D(lo), D(c), D(10), 60)


async def _candle(kernel: Kernel, clock: SimClock, bar: Candle) -> None:
    clock.advance_to(bar.close_ts)
    await kernel.on_market(bar)


def _brackets(kernel: Kernel) -> list[Order]:
    return [o for o in kernel.orders.values() if o.order_type is OrderType.BRACKET]


def _legs(kernel: Kernel) -> list[Order]:
    return [o for o in kernel.orders.values() if is_bracket(o)]


async def _long(kernel: Kernel, clock: SimClock) -> Order:
    await kernel.start()
    await _trade(kernel, clock, "50000", 1)
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D("0.1")))
    await _trade(kernel, clock, "50000", 2)  # the next async point places the bracket
    [bracket] = _legs(kernel)  # or the plan's lone leg
    return bracket


async def test_an_entry_gets_one_bracket_from_its_fill_price() -> None:
    kernel, exchange, clock = _kernel()
    bracket = await _long(kernel, clock)
    fill_price = kernel.positions[SYM].avg_entry_price
    assert bracket.tag == BRACKET_TAG
    assert bracket.side is Side.SELL
    assert bracket.size == D("0.1")
    assert bracket.stop_price == PRODUCT.quantize_price(
        fill_price * D("0.98"), conservative_for="SELL"
    )
    assert bracket.limit_price == PRODUCT.quantize_price(
        fill_price * D("1.04"), conservative_for="BUY"
    )
    venue = exchange.order(bracket.client_order_id)
    assert venue is not None
    assert venue.status is OrderStatus.OPEN
    await _trade(kernel, clock, "50010", 3)
    await kernel.on_timer()
    assert len(_brackets(kernel)) == 1  # reviewed again, never doubled


async def test_levels_round_towards_the_entry() -> None:
    stop, target = PLAN.levels(PRODUCT, True, D("100.005"))  # type: ignore[union-attr]
    assert (stop, target) == (D("98.01"), D("104.00"))  # 98.0049 up, 104.0052 down
    stop, target = PLAN.levels(PRODUCT, False, D("100.005"))  # type: ignore[union-attr]
    assert (stop, target) == (D("102.00"), D("96.01"))  # 102.0051 down, 96.0048 up


async def test_the_stop_closes_the_position_and_nothing_else_is_placed() -> None:
    kernel, _, clock = await _opened()
    bracket = _brackets(kernel)[0]
    await _trade(kernel, clock, "48000", 3)
    await kernel.on_timer()
    assert kernel.positions[SYM].size == 0
    assert kernel.orders[bracket.client_order_id].status is OrderStatus.FILLED
    assert len(kernel.orders) == 2  # the entry and its bracket
    fill = _fills_of(kernel, bracket.client_order_id)[0]
    assert exit_reason(kernel.orders[bracket.client_order_id], fill.price) is ExitReason.STOP_LOSS


async def test_the_target_closes_the_position_at_its_limit() -> None:
    kernel, _, clock = await _opened()
    bracket = _brackets(kernel)[0]
    await _trade(kernel, clock, "53000", 3, taker="BUY")
    assert kernel.positions[SYM].size == 0
    fill = _fills_of(kernel, bracket.client_order_id)[0]
    assert fill.price == bracket.limit_price
    assert exit_reason(kernel.orders[bracket.client_order_id], fill.price) is ExitReason.TAKE_PROFIT


async def _opened() -> tuple[Kernel, SimExchange, SimClock]:
    kernel, exchange, clock = _kernel()
    kernel.add_sink(_FillLog())
    await _long(kernel, clock)
    return kernel, exchange, clock


class _FillLog:
    def __init__(self) -> None:
        self.fills: list[Fill] = []

    def handle(self, event: Any) -> None:
        fill = getattr(event, "fill", None)
        if isinstance(fill, Fill):
            self.fills.append(fill)


def _fills_of(kernel: Kernel, cid: str) -> list[Fill]:
    logs = [s for s in kernel._sinks if isinstance(s, _FillLog)]
    return [f for f in logs[0].fills if f.client_order_id == cid]


async def _on_bars(entry_bar: Candle) -> tuple[Kernel, SimClock, Order]:
    return await _on_bars_with(PLAN, entry_bar)


async def _on_bars_with(plan: ExitPlan | None, entry_bar: Candle) -> tuple[Kernel, SimClock, Order]:
    """A backtest's kernel (fills at the next open) that bought 1 at ``entry_bar``'s open
    (100) and has replayed that bar; its bracket or lone leg."""
    kernel, _, clock = _kernel("next_open", exits=plan)
    kernel.add_sink(_FillLog())
    await kernel.start()
    await _candle(kernel, clock, _bar(0, "100", "100", "100", "100"))
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _candle(kernel, clock, entry_bar)
    [bracket] = _legs(kernel)
    return kernel, clock, bracket


async def test_a_bar_touching_both_levels_fills_the_stop_first() -> None:
    # the entry fills at this bar's open; its bracket (98 / 104) lives from that open on
    kernel, _, bracket = await _on_bars(_bar(1, "100", "105", "97", "101"))
    assert (bracket.stop_price, bracket.limit_price) == (D("98.00"), D("104.00"))
    [fill] = _fills_of(kernel, bracket.client_order_id)
    assert fill.price == D("98.00")
    assert kernel.positions[SYM].size == 0
    assert exit_reason(kernel.orders[bracket.client_order_id], fill.price) is ExitReason.STOP_LOSS


async def test_a_stop_gapped_through_fills_at_the_open() -> None:
    kernel, clock, bracket = await _on_bars(_bar(1, "100", "101", "99", "100"))
    await _candle(kernel, clock, _bar(2, "95", "96", "94", "95"))
    [fill] = _fills_of(kernel, bracket.client_order_id)
    assert fill.price == D(95)
    assert kernel.positions[SYM].size == 0


async def test_the_target_fills_in_the_entry_bar_at_its_limit() -> None:
    kernel, _, bracket = await _on_bars(_bar(1, "100", "105", "99", "104"))
    [fill] = _fills_of(kernel, bracket.client_order_id)
    assert fill.price == D("104.00")
    assert kernel.positions[SYM].size == 0


@pytest.mark.parametrize("plan", [PLAN, STOP_ONLY], ids=["bracket", "lone stop"])
async def test_a_signal_exit_cancels_the_bracket_before_closing(plan: ExitPlan) -> None:
    signal = Scripted()
    kernel, exchange, clock = _kernel(exits=plan, voter=First())
    kernel.parts.signals[SYM].append(signal)
    bracket = await _long(kernel, clock)
    signal.next = Action.FLAT
    await _trade(kernel, clock, "50500", 3)
    assert exchange.order(bracket.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert kernel.positions[SYM].size == 0
    closes = [
        o
        for o in kernel.orders.values()
        if o.side is Side.SELL and o.order_type is OrderType.MARKET
    ]
    assert len(closes) == 1
    assert closes[0].reduce_only
    assert exit_reason(closes[0], D(50500)) is ExitReason.SIGNAL
    await kernel.on_timer()
    assert len(_legs(kernel)) == 1  # flat: no new bracket


class _Deaf:
    """The kernel's listener with a lost stream for one order: the venue filled it, the
    kernel heard nothing (a WebSocket gap)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.lost: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kernel, name)

    def on_order(self, order: Order) -> None:
        if order.client_order_id not in self.lost:
            self.kernel.on_order(order)

    def on_fill(self, fill: Fill) -> None:
        if fill.client_order_id not in self.lost:
            self.kernel.on_fill(fill)


async def test_a_cancel_that_arrives_after_the_bracket_filled_closes_nothing_twice() -> None:
    signal = Scripted()
    kernel, exchange, clock = _kernel(voter=First())
    kernel.parts.signals[SYM].append(signal)
    bracket = await _long(kernel, clock)
    deaf = _Deaf(kernel)
    deaf.lost.add(bracket.client_order_id)
    kernel.broker._listener = deaf  # type: ignore[attr-defined]
    signal.next = Action.FLAT
    # the stop fills at the venue on this print; the kernel does not hear it, then decides
    await _trade(kernel, clock, "48000", 3)
    assert exchange.order(bracket.client_order_id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert kernel.positions[SYM].size == 0  # read back from the venue before sizing a close
    assert [o.client_order_id for o in kernel.orders.values()] == ["entry", bracket.client_order_id]
    held = exchange.balances()
    assert sum(b.total for b in held if b.currency == "BTC") == 0  # never sold short


async def test_a_reversal_with_a_filled_bracket_never_doubles_the_close_on_derivatives() -> None:
    from gpt_trader.sim import DerivativesConfig
    from gpt_trader.testing import derivative_product

    perp = derivative_product("BTC-PERP", "perpetual")
    exchange = SimExchange(
        [perp], {"USDC": D(0)},
        derivatives=DerivativesConfig(pools={"PERPETUALS": D(100_000)}, taker_fee=D(0), maker_fee=D(0)),
    )  # fmt: skip
    clock = SimClock(FROZEN_TS)
    kernel = manual_kernel(exchange, clock, exits=PLAN, quote_currency="USDC")
    await kernel.start()
    clock.advance_to(FROZEN_TS + NS)
    await kernel.on_market(Trade("BTC-PERP", FROZEN_TS + NS, "t1", D(50000), D(1), "SELL"))
    await kernel.submit(OrderRequest("entry", "BTC-PERP", Side.BUY, D("0.1")))
    await kernel.on_timer()
    [bracket] = _brackets(kernel)
    assert bracket.reduce_only
    await kernel.exits.release("BTC-PERP")
    assert kernel.orders[bracket.client_order_id].status is OrderStatus.CANCELLED
    assert kernel.positions["BTC-PERP"].size == D("0.1")


async def test_a_restart_adopts_the_working_bracket(tmp_path: Path) -> None:
    exchange = SimExchange([PRODUCT], {"USD": D(100_000)}, maker_fee=D(0), taker_fee=D(0))
    clock = SimClock(FROZEN_TS)
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("run1", "test", "sim", FROZEN_TS)
    sink = StoreSink(store, "run1")
    first = manual_kernel(exchange, clock, exits=PLAN, journal=store, run_id="run1", sinks=[sink])
    bracket = await _long(first, clock)
    sink.close()  # kill -9 leaves nothing else: the intent rows and events are on disk
    store.close()

    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("run2", "test", "sim", FROZEN_TS + 4 * NS)
    sink = StoreSink(store, "run2")
    second = manual_kernel(exchange, clock, exits=PLAN, journal=store, run_id="run2", sinks=[sink])
    await second.start()
    await _trade(second, clock, "50010", 5)
    await second.on_timer()
    assert second.positions[SYM].size == D("0.1")
    assert [o.client_order_id for o in _brackets(second)] == [bracket.client_order_id]
    assert second.exits.bracket(SYM) is not None
    assert len([o for o in exchange.open_orders() if o.order_type is OrderType.BRACKET]) == 1
    sink.close()
    store.close()


class Killed(BaseException):
    """The process dies here (kill -9): nothing after it runs, nothing is cleaned up."""


class DiesAtTheBracket(SimBroker):
    """A broker whose process dies as the bracket goes out: ``"after_the_intent"`` (the
    intent is recorded, nothing sent) or ``"after_the_send"`` (the venue has it, the ack
    is never recorded)."""

    crash = ""

    async def submit(self, request: OrderRequest) -> Order:
        if request.order_type is not OrderType.BRACKET or not self.crash:
            return await super().submit(request)
        if self.crash == "after_the_send":
            await super().submit(request)
        raise Killed


@pytest.mark.parametrize("crash", ["after_the_fill", "after_the_intent", "after_the_send"])
async def test_a_death_between_the_entry_fill_and_its_bracket(tmp_path: Path, crash: str) -> None:
    exchange = SimExchange([PRODUCT], {"USD": D(100_000)}, maker_fee=D(0), taker_fee=D(0))
    clock = SimClock(FROZEN_TS)

    def kernel(run: str, broker: SimBroker) -> tuple[Kernel, Store]:
        store = Store(tmp_path / "gpt_trader.db")
        store.start_run(run, "test", "sim", clock.now())
        # The store's sink is never flushed: a kill -9 loses what it buffered.
        sinks = [StoreSink(store, run, flush_every=10_000, max_delay_s=3600)]
        parts = KernelParts(
            run_id=run, products={SYM: PRODUCT}, signals={SYM: []}, voter=First(),
            sizer=First(), broker=broker, journal=store, clock=clock, sinks=sinks, exits=PLAN,
        )  # type: ignore[arg-type]  # fmt: skip
        return Kernel(parts), store

    dying = DiesAtTheBracket(exchange, clock=clock.now)
    first, store = kernel("run1", dying)
    await first.start()
    await _trade(first, clock, "50000", 1)
    await first.submit(OrderRequest("run1-entry", SYM, Side.BUY, D("0.1")))
    assert first.positions[SYM].size == D("0.1")  # filled; its bracket comes next
    if crash != "after_the_fill":
        dying.crash = crash
        with pytest.raises(Killed):
            await _trade(first, clock, "50000", 2)
    await dying.stop()
    store.close()

    second, store = kernel("run2", SimBroker(exchange, clock=clock.now))
    await second.start()
    for n in range(3, 6):
        await _trade(second, clock, "50010", n)
        await second.on_timer()
    assert second.positions[SYM].size == D("0.1")
    at_venue = [o for o in exchange.open_orders() if o.order_type is OrderType.BRACKET]
    assert len(at_venue) == 1, "the position must have exactly one bracket at the venue"
    assert second.exits.bracket(SYM).client_order_id == at_venue[0].client_order_id  # type: ignore[union-attr]
    stored = [o for o in store.working_orders() if o.order_type is OrderType.BRACKET]
    assert [o.client_order_id for o in stored] == [at_venue[0].client_order_id]
    store.close()


async def test_a_bracket_whose_cancel_is_never_confirmed_blocks_its_product() -> None:
    from gpt_trader.domain.events import CancelUnconfirmed, DecisionMade
    from gpt_trader.engine.execution import ExecutionPolicy

    signal, events = Scripted(), EventRecorder()
    policy = ExecutionPolicy(cancel_retries=1, cancel_give_up_s=10.0)
    kernel, exchange, clock = _kernel(voter=First(), execution=policy, sinks=[events])
    kernel.parts.signals[SYM].append(signal)
    bracket = await _long(kernel, clock)
    sent: list[str] = []

    async def unanswered(ids: Any) -> dict[str, bool]:  # the venue never hears of it
        sent.extend(ids)
        return {}

    kernel.broker.cancel = unanswered  # type: ignore[method-assign]
    for n in range(3, 15):  # a FLAT signal every second: the bracket must go first
        signal.next = Action.FLAT
        await _trade(kernel, clock, "50100", n)
        await kernel.on_timer()
    assert sent == [bracket.client_order_id] * 2  # the first send and one retry, no more
    [flag] = events.of(CancelUnconfirmed)
    assert (flag.client_order_id, flag.attempts, flag.resolved) == (
        bracket.client_order_id,
        2,
        False,
    )
    assert kernel.orders[bracket.client_order_id].status is OrderStatus.OPEN  # never assumed
    assert kernel.positions[SYM].size == D("0.1")  # nothing closed around the bracket
    last = events.of(DecisionMade)[-1]
    assert (last.outcome, bracket.client_order_id in last.detail) == ("blocked", True)

    exchange.cancel(bracket.client_order_id, clock.now())  # the venue reports it at last
    signal.next = Action.FLAT
    await _trade(kernel, clock, "50100", 15)
    assert [e.resolved for e in events.of(CancelUnconfirmed)] == [False, True]
    assert kernel.positions[SYM].size == 0  # the signal's close goes now


async def test_a_stop_on_stop_keeps_the_bracket_working() -> None:
    kernel, exchange, clock = _kernel()
    bracket = await _long(kernel, clock)
    await kernel.stop(cancel_open=True)
    assert exchange.order(bracket.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]


def _plan(**kw: Any) -> ExitPlan:
    plan = ExitPlan.from_pcts(kw.pop("stop", None), kw.pop("take", None), **kw)
    assert plan is not None
    return plan


async def test_a_trailing_stop_follows_the_high_and_replaces_the_bracket() -> None:
    kernel, exchange, clock = _kernel(
        "next_open", exits=_plan(stop=D(2), take=D(10), trailing_pct=D(1))
    )
    kernel.add_sink(_FillLog())
    await kernel.start()
    await _candle(kernel, clock, _bar(0, "100", "100", "100", "100"))
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _candle(kernel, clock, _bar(1, "100", "100.5", "99.5", "100"))
    await _candle(kernel, clock, _bar(2, "100", "104", "100", "103.5"))
    working = [o for o in _brackets(kernel) if o.status is OrderStatus.OPEN]
    assert len(working) == 1  # never two for one position
    assert working[0].stop_price == D("102.96")  # 104 * 0.99
    assert working[0].tag == "exit:trailing"
    assert len([o for o in exchange.open_orders() if o.order_type is OrderType.BRACKET]) == 1
    await _candle(kernel, clock, _bar(3, "103.5", "103.6", "102", "102.5"))
    [fill] = _fills_of(kernel, working[0].client_order_id)
    assert fill.price == D("102.96")
    assert exit_reason(kernel.orders[working[0].client_order_id], fill.price) is ExitReason.TRAILING
    assert kernel.positions[SYM].size == 0


async def test_a_restart_keeps_the_trailing_stops_best_price(tmp_path: Path) -> None:
    plan = _plan(stop=D(2), take=D(10), trailing_pct=D(1))
    exchange = SimExchange(
        [PRODUCT], {"USD": D(100_000)}, market_fill="next_open", maker_fee=D(0), taker_fee=D(0)
    )
    clock = SimClock(FROZEN_TS)

    def kernel(run: str) -> tuple[Kernel, Store, StoreSink]:
        store = Store(tmp_path / "gpt_trader.db")
        store.start_run(run, "test", "sim", clock.now())
        sink = StoreSink(store, run)
        return manual_kernel(exchange, clock, exits=plan, journal=store, run_id=run,
                             sinks=[sink]), store, sink  # fmt: skip

    first, store, sink = kernel("run1")
    await first.start()
    await _candle(first, clock, _bar(0, "100", "100", "100", "100"))
    await first.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _candle(first, clock, _bar(1, "100", "100.5", "99.5", "100"))
    await _candle(first, clock, _bar(2, "100", "104", "100", "103.5"))
    [trailed] = [o for o in _brackets(first) if o.status is OrderStatus.OPEN]
    assert trailed.stop_price == D("102.96")  # 104 * 0.99
    await first.broker.stop()  # killed: the journal is what is left
    sink.close()
    store.close()

    second, store, sink = kernel("run2")
    await second.start()
    # Half the position goes (its bracket first): the rest is re-bracketed from the best
    # price before the restart (104), not from the entry or this bar's lower high.
    assert await second.exits.release(SYM)
    await second.submit(OrderRequest("half", SYM, Side.SELL, D("0.5"), reduce_only=True))
    await _candle(second, clock, _bar(3, "103.5", "103.6", "103.2", "103.4"))
    await second.on_timer()
    [rest] = [o for o in _brackets(second) if o.status is OrderStatus.OPEN]
    assert (rest.size, rest.stop_price, rest.tag) == (D("0.5"), D("102.96"), "exit:trailing")
    assert store.kernel_state()[f"best:{SYM}"]["best"] == "104"
    sink.close()
    store.close()


async def test_a_trailing_stop_waits_for_its_activation() -> None:
    plan = _plan(stop=D(2), take=D(10), trailing_pct=D(1), trailing_activation_pct=D(5))
    kernel, _, clock = _kernel("next_open", exits=plan)
    await kernel.start()
    await _candle(kernel, clock, _bar(0, "100", "100", "100", "100"))
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _candle(kernel, clock, _bar(1, "100", "100.5", "99.5", "100"))
    await _candle(kernel, clock, _bar(2, "100", "104", "100", "103.5"))  # +4 %: not yet
    [bracket] = [o for o in _brackets(kernel) if o.status is OrderStatus.OPEN]
    assert bracket.stop_price == D("98.00")
    await _candle(kernel, clock, _bar(3, "103.5", "106", "103", "105"))  # +6 %: active
    [bracket] = [o for o in _brackets(kernel) if o.status is OrderStatus.OPEN]
    assert bracket.stop_price == D("104.94")


async def test_max_hold_closes_at_market_after_that_long() -> None:
    kernel, _, clock = _kernel("next_open", exits=_plan(stop=D(5), take=D(5), max_hold_s=180))
    await kernel.start()
    await _candle(kernel, clock, _bar(0, "100", "100", "100", "100"))
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))  # fills at bar 1's open
    await _candle(kernel, clock, _bar(1, "100", "101", "99", "100"))
    await _candle(kernel, clock, _bar(2, "100", "101", "99", "100"))
    await kernel.on_timer()
    assert not [o for o in kernel.orders.values() if o.tag == "exit:max_hold"]
    await _candle(kernel, clock, _bar(3, "100", "101", "99", "100"))  # 3 minutes at its close
    [close] = [o for o in kernel.orders.values() if o.tag == "exit:max_hold"]
    assert close.reduce_only
    assert kernel.orders[_brackets(kernel)[0].client_order_id].status is OrderStatus.CANCELLED
    await _candle(kernel, clock, _bar(4, "100.5", "101", "99", "100"))
    assert kernel.positions[SYM].size == 0
    assert exit_reason(close, D("100.5")) is ExitReason.MAX_HOLD
    assert len(_brackets(kernel)) == 1  # flat: no new bracket


async def test_roi_closes_when_the_return_reaches_the_threshold_for_the_age() -> None:
    # freqtrade's minimal_roi: 3 % at once, 1 % after 2 minutes
    kernel, _, clock = _kernel("next_open", exits=_plan(roi={0: D(3), 2: D(1)}))
    await kernel.start()
    await _candle(kernel, clock, _bar(0, "100", "100", "100", "100"))
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _candle(kernel, clock, _bar(1, "100", "101.6", "100", "101.5"))  # 1 min, +1.5 %
    assert not [o for o in kernel.orders.values() if o.tag == "exit:roi"]
    assert not _brackets(kernel)  # no stop asked for: no bracket
    await _candle(kernel, clock, _bar(2, "101.5", "101.6", "101", "101.2"))  # 2 min, +1.2 %
    [close] = [o for o in kernel.orders.values() if o.tag == "exit:roi"]
    await _candle(kernel, clock, _bar(3, "101.2", "101.6", "101", "101.2"))
    assert kernel.positions[SYM].size == 0
    assert exit_reason(close, D("101.2")) is ExitReason.ROI


def test_the_roi_table_takes_the_largest_age_at_or_below() -> None:
    plan = _plan(roi={0: D(4), 30: D(2), 60: D(0)})
    minute = 60 * NS
    assert not plan.roi_due(10 * minute, D("0.03"))
    assert plan.roi_due(10 * minute, D("0.04"))
    assert plan.roi_due(30 * minute, D("0.02"))
    assert not plan.roi_due(59 * minute, D("0.019"))
    assert plan.roi_due(60 * minute, D(0))


async def test_a_trailing_stop_moves_in_steps_not_every_tick() -> None:
    kernel, _, clock = _kernel(exits=_plan(stop=D(2), take=D(10), trailing_pct=D(1)))
    await kernel.start()
    await _trade(kernel, clock, "100", 1)
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _trade(kernel, clock, "102", 2)  # stop 98 -> 100.98
    await _trade(kernel, clock, "102.05", 3)  # 101.03: a gain under 0.1 %, kept
    await _trade(kernel, clock, "102.2", 4)  # 101.18: moved
    stops = [o.stop_price for o in _brackets(kernel)]
    assert stops == [D("98.00"), D("100.98"), D("101.18")]
    assert len([o for o in _brackets(kernel) if o.status is OrderStatus.OPEN]) == 1


class _CutHalf:
    """A runtime guard that asks for half of any BTC-USD position once the mark is below 99."""

    name = "cut_half"

    def evaluate(self, state: Any) -> Any:
        from gpt_trader.domain import GuardResult, Reduction, Severity

        pos = state.positions.get(SYM)
        if pos is None or pos.size == 0 or pos.mark_price >= 99:
            return GuardResult.passed(self.name)
        return GuardResult(
            self.name, Severity.WARN, "below 99", reduce=(Reduction(SYM, abs(pos.size) / 2),)
        )


async def test_a_guard_cut_cancels_the_bracket_and_rebrackets_what_is_left() -> None:
    from gpt_trader.engine.guards import GuardStack

    kernel, exchange, clock = _kernel(guards=GuardStack(runtime=[_CutHalf()], budget_s=None))
    await kernel.start()
    await _trade(kernel, clock, "100", 1)
    await kernel.submit(OrderRequest("entry", SYM, Side.BUY, D(1)))
    await _trade(kernel, clock, "100", 2)
    [first] = _brackets(kernel)
    await _trade(kernel, clock, "98.9", 3)  # above the stop (98), below the guard's floor
    await kernel.on_timer()
    assert kernel.positions[SYM].size == D("0.5")
    assert kernel.orders[first.client_order_id].status is OrderStatus.CANCELLED
    working = [o for o in _brackets(kernel) if o.status is OrderStatus.OPEN]
    assert [o.size for o in working] == [D("0.5")]
    assert working[0].stop_price == first.stop_price  # same entry, same levels
    assert len([o for o in exchange.open_orders() if o.order_type is OrderType.BRACKET]) == 1


# ---- a lone stop-loss or take-profit leg -------------------------------------------------


async def test_a_lone_stop_is_one_stop_limit_from_the_fill_price() -> None:
    kernel, exchange, clock = _kernel(exits=STOP_ONLY)
    kernel.add_sink(_FillLog())
    leg = await _long(kernel, clock)
    entry = kernel.positions[SYM].avg_entry_price
    stop = PRODUCT.quantize_price(entry * D("0.98"), conservative_for="SELL")
    assert (leg.order_type, leg.tag, leg.side, leg.size) == (
        OrderType.STOP_LIMIT, STOP_TAG, Side.SELL, D("0.1"),
    )  # fmt: skip
    assert leg.stop_price == stop
    assert leg.limit_price == PRODUCT.quantize_price(
        stop * (1 - STOP_LIMIT_ROOM), conservative_for="BUY"
    )
    assert exchange.order(leg.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    await _trade(kernel, clock, "50010", 3)
    await kernel.on_timer()
    assert len(_legs(kernel)) == 1  # reviewed again, never doubled
    await _trade(kernel, clock, "48900", 4)  # through the stop, within its limit's room
    await kernel.on_timer()
    assert kernel.positions[SYM].size == 0
    [fill] = _fills_of(kernel, leg.client_order_id)
    assert exit_reason(kernel.orders[leg.client_order_id], fill.price) is ExitReason.STOP_LOSS
    assert len(kernel.orders) == 2  # the entry and its stop: nothing placed when flat


async def test_a_lone_target_is_one_gtc_limit_filled_at_its_price() -> None:
    kernel, _, clock = _kernel(exits=TARGET_ONLY)
    kernel.add_sink(_FillLog())
    leg = await _long(kernel, clock)
    entry = kernel.positions[SYM].avg_entry_price
    assert (leg.order_type, leg.tag, leg.stop_price) == (OrderType.LIMIT, TARGET_TAG, None)
    assert leg.limit_price == PRODUCT.quantize_price(entry * D("1.04"), conservative_for="BUY")
    await _trade(kernel, clock, "53000", 3, taker="BUY")
    assert kernel.positions[SYM].size == 0
    [fill] = _fills_of(kernel, leg.client_order_id)
    assert fill.price == leg.limit_price
    assert exit_reason(kernel.orders[leg.client_order_id], fill.price) is ExitReason.TAKE_PROFIT


async def test_a_lone_stop_gapped_through_fills_at_the_open() -> None:
    kernel, clock, leg = await _on_bars_with(STOP_ONLY, _bar(1, "100", "101", "99", "100"))
    await _candle(kernel, clock, _bar(2, "97.5", "97.8", "97", "97.5"))
    [fill] = _fills_of(kernel, leg.client_order_id)
    assert fill.price == D("97.5")
    assert kernel.positions[SYM].size == 0


@pytest.mark.parametrize(
    ("plan", "price"),
    [(STOP_ONLY, "98.00"), (TARGET_ONLY, "104.00")],
    ids=["stop at its trigger", "target at its limit"],
)
async def test_a_lone_leg_is_live_in_the_entry_bar(plan: ExitPlan, price: str) -> None:
    kernel, _, leg = await _on_bars_with(plan, _bar(1, "100", "105", "97", "104"))
    [fill] = _fills_of(kernel, leg.client_order_id)
    assert fill.price == D(price)
    assert kernel.positions[SYM].size == 0


async def test_a_stop_on_stop_keeps_the_lone_leg_working() -> None:
    kernel, exchange, clock = _kernel(exits=TARGET_ONLY)
    leg = await _long(kernel, clock)
    await kernel.stop(cancel_open=True)
    assert exchange.order(leg.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]


async def test_a_restart_adopts_the_working_lone_leg(tmp_path: Path) -> None:
    exchange = SimExchange([PRODUCT], {"USD": D(100_000)}, maker_fee=D(0), taker_fee=D(0))
    clock = SimClock(FROZEN_TS)

    def kernel(run: str, ts: int) -> tuple[Kernel, Store, StoreSink]:
        store = Store(tmp_path / "gpt_trader.db")
        store.start_run(run, "test", "sim", ts)
        sink = StoreSink(store, run)
        parts: dict[str, Any] = {"exits": STOP_ONLY, "journal": store, "sinks": [sink]}
        return manual_kernel(exchange, clock, run_id=run, **parts), store, sink

    first, store, sink = kernel("run1", FROZEN_TS)
    leg = await _long(first, clock)
    sink.close()  # a kill -9 leaves the intent rows and flushed events
    store.close()

    second, store, sink = kernel("run2", FROZEN_TS + 4 * NS)
    await second.start()
    await _trade(second, clock, "50010", 5)
    await second.on_timer()
    assert [o.client_order_id for o in _legs(second)] == [leg.client_order_id]
    assert second.orders[leg.client_order_id].tag == STOP_TAG
    assert len([o for o in exchange.open_orders() if o.order_type is OrderType.STOP_LIMIT]) == 1
    sink.close()
    store.close()
