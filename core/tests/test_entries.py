"""Limit and post-only entries ([execution]) through the sim broker and a real SQLite store:
pricing, the bar fill model, timeouts, each reprice mode with partial fills, races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import (
    Action,
    BookUpdate,
    Candle,
    Decision,
    Liquidity,
    MarketEvent,
    Order,
    OrderStatus,
    OrderType,
    SignalValue,
    TimeInForce,
    Trade,
)
from gpt_trader.domain.events import (
    CancelUnconfirmed,
    DecisionMade,
    Event,
    FillReceived,
    OrderUpdated,
)
from gpt_trader.domain.market import NS
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.execution import ExecutionPolicy
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.errors import BrokerError
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS

T0 = FROZEN_TS
BTC = "BTC-USD"


def bar(n: int, o: str, h: str, lo: str, c: str, v: str = "10") -> Candle:
    return Candle(BTC, T0 + n * 60 * NS, D(o), D(h), D(lo), D(c), D(v), 60)


# The signal goes LONG on bar 1's close (101): a BUY entry priced from 101.
OPENING = [bar(0, "100", "100.2", "99.8", "100"), bar(1, "100", "101.2", "99.9", "101")]


class Watch:
    """A sink that records events and the most orders ever working at once."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.status: dict[str, OrderStatus] = {}
        self.most_working = 0

    def handle(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, OrderUpdated):
            self.status[event.order.client_order_id] = event.order.status
            working = sum(1 for s in self.status.values() if s.is_working)
            self.most_working = max(self.most_working, working)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class LongOnce:
    """LONG the first time the close is above ``level`` (or on the first non-candle event)."""

    name = "test.long"

    def __init__(self, level: str = "100.5") -> None:
        self.level = D(level)
        self.done = False

    def update(self, event: Any) -> SignalValue | None:
        if self.done:
            return None
        if isinstance(event, Candle) and event.close <= self.level:
            return None
        if isinstance(event, BookUpdate):
            return None
        self.done = True
        ts = event.close_ts if isinstance(event, Candle) else event.ts
        return SignalValue(self.name, BTC, ts, Action.LONG)


class FirstVote:
    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        return Decision(symbol, ts, votes[0].action, 1.0, tuple(votes)) if votes else None


class Fixed:
    def size(self, decision: Decision, state: Any) -> D:
        return D(1)


class Run:
    def __init__(
        self,
        tmp_path: Path,
        policy: ExecutionPolicy,
        *,
        market_fill: str = "next_open",
        volume_participation: str | None = None,
        fill_on_touch: bool = False,
        broker_cls: type[SimBroker] = SimBroker,
    ) -> None:
        self.products = default_products([BTC])
        self.exchange = SimExchange(
            self.products,
            {"USD": D(100_000)},
            market_fill=market_fill,  # type: ignore[arg-type]
            volume_participation=None if volume_participation is None else D(volume_participation),
            fill_on_touch=fill_on_touch,
        )
        self.path = tmp_path / "gpt_trader.db"
        self.policy = policy
        self.watch = Watch()
        self.clock = SimClock(T0)
        self.runs = 0
        self._start_run(broker_cls)

    def _start_run(self, broker_cls: type[SimBroker] = SimBroker) -> None:
        self.runs += 1
        run_id = f"run{self.runs}"
        self.store = Store(self.path)
        self.store.start_run(run_id, "test", "sim", self.clock.now())
        self.broker = broker_cls(self.exchange, clock=self.clock.now)
        self.sink = StoreSink(self.store, run_id, flush_every=1)
        self.kernel = Kernel(
            KernelParts(
                run_id=run_id,
                products=self.products,
                signals={BTC: [LongOnce()]},
                voter=FirstVote(),
                sizer=Fixed(),
                broker=self.broker,
                journal=self.store,
                clock=self.clock,
                sinks=[self.sink, self.watch],
                critical_sinks=frozenset({0}),
                execution=self.policy,
            )
        )

    async def restart(self, broker_cls: type[SimBroker] = SimBroker) -> None:
        """The bot dies (kill -9: no stop, no cancel; what it committed stays) and a new
        one starts on the same store and venue; its signal says LONG again at once."""
        await self.broker.stop()
        self.sink.close()
        self.store.close()
        self._start_run(broker_cls)
        await self.kernel.start()

    async def feed(self, *events: MarketEvent) -> None:
        if not self.kernel._started:
            await self.kernel.start()
        for event in events:
            self.clock.advance_to(event.close_ts if isinstance(event, Candle) else event.ts)
            await self.kernel.on_market(event)

    @property
    def orders(self) -> list[Order]:
        return sorted(self.kernel.orders.values(), key=lambda o: o.client_order_id)

    @property
    def position(self) -> D:
        return self.kernel.positions[BTC].size

    def stored(self) -> dict[str, Order]:
        self.sink.flush()
        return {o.client_order_id: o for o in self.store.orders()}


def limit_policy(**kw: Any) -> ExecutionPolicy:
    return ExecutionPolicy(**{"entry": "limit", "offset_bps": D(10), "timeout_s": 120.0, **kw})


async def test_limit_entry_rests_behind_the_touch_and_needs_a_trade_through(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path, limit_policy())
    await run.feed(*OPENING)
    (order,) = run.orders
    # 101 less 10 bps is 100.899, rounded down for a BUY (never pay more than asked)
    assert (order.order_type, order.time_in_force, order.post_only) == (
        OrderType.LIMIT,
        TimeInForce.GTC,
        False,
    )
    assert order.limit_price == D("100.89")
    assert order.status is OrderStatus.OPEN
    assert run.stored()[order.client_order_id].limit_price == D("100.89")
    await run.feed(bar(2, "101", "101.5", "100.89", "101.2"))  # a touch: no fill
    assert run.position == 0
    await run.feed(bar(3, "101", "101.1", "100.5", "100.7"))  # through: a maker fill
    (fill,) = [e.fill for e in run.watch.of(FillReceived)]
    assert (fill.price, fill.size, fill.liquidity) == (D("100.89"), D(1), Liquidity.MAKER)
    assert run.position == D(1)
    assert not run.kernel.entries.active
    assert run.stored()[order.client_order_id].status is OrderStatus.FILLED


async def test_fill_on_touch_fills_a_limit_the_bar_only_touches(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(), fill_on_touch=True)
    await run.feed(*OPENING, bar(2, "101", "101.5", "100.89", "101.2"))
    assert run.position == D(1)
    assert run.orders[0].avg_fill_price == D("100.89")


@pytest.mark.parametrize(
    ("entry", "price", "liquidity"),
    [("limit", D("100.5"), Liquidity.TAKER), ("post_only", D("100.88"), Liquidity.MAKER)],
)
async def test_a_bar_opening_through_the_limit(
    tmp_path: Path, entry: str, price: D, liquidity: Liquidity
) -> None:
    """A limit takes the better open; a post-only entry never takes liquidity: it fills at
    its limit, as maker (post-only is priced a tick inside the last price when no book)."""
    run = Run(tmp_path, limit_policy(entry=entry))
    await run.feed(*OPENING, bar(2, "100.5", "100.95", "100.4", "100.6"))
    (fill,) = [e.fill for e in run.watch.of(FillReceived)]
    assert (fill.price, fill.liquidity) == (price, liquidity)
    assert run.orders[0].post_only is (entry == "post_only")


# bar 2 touches nothing; bar 3 trades through 100.89 with volume 1 (half may fill us: 0.5)
# and its close (100.7) is the new touch when the 120 s timeout strikes at its close.
PARTIAL = [bar(2, "101", "101.5", "100.95", "101.2"), bar(3, "101", "101.1", "100.5", "100.7", "1")]
REST = bar(4, "100.7", "100.8", "100.3", "100.4")


async def test_reprice_by_edit_keeps_the_order_and_its_filled_part(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(reprice="edit"), volume_participation="0.5")
    await run.feed(*OPENING, *PARTIAL)
    (order,) = run.orders
    assert order.filled_size == D("0.5")
    assert run.position == D("0.5")
    # edited in place: same client order id, new price (100.7 less 10 bps), total size kept
    assert order.limit_price == D("100.59")
    assert order.size == D(1)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert run.exchange.order(order.client_order_id).limit_price == D("100.59")  # type: ignore[union-attr]
    assert run.stored()[order.client_order_id].limit_price == D("100.59")
    await run.feed(REST)
    assert run.position == D(1)
    assert len(run.orders) == 1
    assert run.watch.most_working == 1


async def test_reprice_by_cancel_replace_places_the_rest_after_the_cancel(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path, limit_policy(), volume_participation="0.5")
    await run.feed(*OPENING, *PARTIAL)
    first, second = run.orders
    assert (first.status, first.filled_size) == (OrderStatus.CANCELLED, D("0.5"))
    assert (second.order_type, second.size, second.limit_price) == (
        OrderType.LIMIT,
        D("0.5"),
        D("100.59"),
    )
    assert second.status is OrderStatus.OPEN
    await run.feed(REST)
    assert run.position == D(1)
    assert run.watch.most_working == 1
    stored = run.stored()
    assert [stored[o.client_order_id].status for o in run.orders] == [
        OrderStatus.CANCELLED,
        OrderStatus.FILLED,
    ]


async def test_reprice_to_market_takes_the_rest_at_the_next_open(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(reprice="market"), volume_participation="0.5")
    await run.feed(*OPENING, *PARTIAL)
    first, second = run.orders
    assert first.status is OrderStatus.CANCELLED
    assert (second.order_type, second.time_in_force, second.size) == (
        OrderType.MARKET,
        TimeInForce.IOC,
        D("0.5"),
    )
    await run.feed(REST)
    assert run.position == D(1)
    assert second.avg_fill_price == D("100.7")  # the next bar's open
    assert run.watch.most_working == 1


async def test_after_max_reprices_the_rest_is_cancelled_and_the_fill_stays(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path, limit_policy(max_reprices=0), volume_participation="0.5")
    await run.feed(*OPENING, *PARTIAL, REST)
    (order,) = run.orders
    assert (order.status, order.filled_size) == (OrderStatus.CANCELLED, D("0.5"))
    assert run.position == D("0.5")
    assert not run.kernel.open_orders
    assert not run.kernel.entries.active


async def test_on_partial_cancel_cancels_the_rest_at_once(tmp_path: Path) -> None:
    policy = limit_policy(on_partial="cancel", timeout_s=3600.0)
    run = Run(tmp_path, policy, volume_participation="0.5")
    await run.feed(*OPENING, bar(2, "101", "101.1", "100.5", "100.7", "1"))
    (order,) = run.orders  # cancelled in the bar that part-filled it, long before the timeout
    assert (order.status, order.filled_size) == (OrderStatus.CANCELLED, D("0.5"))
    assert run.position == D("0.5")
    assert not run.kernel.entries.active
    assert run.stored()[order.client_order_id].status is OrderStatus.CANCELLED


async def test_the_timeout_counts_on_the_bar_clock(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(timeout_s=300.0))
    flat = [bar(n, "101", "101.5", "100.95", "101.2") for n in range(2, 6)]
    await run.feed(*OPENING, *flat)  # 4 bars: 240 s after the order
    assert len(run.orders) == 1
    await run.feed(bar(6, "101", "101.5", "100.95", "101.2"))  # 300 s: repriced
    assert len(run.orders) == 2
    assert run.orders[1].limit_price == D("101.09")  # 101.2 less 10 bps, rounded down


# ---- post-only: a venue that would be crossed rejects; the kernel reprices --------------


def book(ts_s: int, bid: str, ask: str) -> BookUpdate:
    return BookUpdate(BTC, T0 + ts_s * NS, ((D(bid), D(5)),), ((D(ask), D(5)),), True)


def print_at(ts_s: int, price: str) -> Trade:
    return Trade(BTC, T0 + ts_s * NS, f"t{ts_s}", D(price), D("0.001"), "BUY")


async def post_only_crossed(tmp_path: Path, reprice: str) -> Run:
    run = Run(
        tmp_path,
        limit_policy(entry="post_only", offset_bps=D(0), reprice=reprice, max_reprices=2),
        market_fill="immediate",
    )
    await run.feed(book(1, "100", "100.02"))
    # The venue's book moves before the kernel hears of it: its ask is below our bid.
    run.broker.on_market(book(2, "99.4", "99.5"))
    await run.feed(print_at(3, "100"))  # the signal: BUY post-only at the kernel's bid
    return run


async def test_post_only_that_would_cross_is_rejected_and_repriced_a_tick_away(
    tmp_path: Path,
) -> None:
    run = await post_only_crossed(tmp_path, "cancel_replace")
    orders = run.orders
    assert [o.limit_price for o in orders] == [D("100"), D("99.99"), D("99.98")]
    assert all(o.post_only for o in orders)
    assert {o.status for o in orders} == {OrderStatus.REJECTED}
    assert {o.reject_reason for o in orders} == {"POST_ONLY_WOULD_CROSS"}
    assert run.position == 0
    assert not run.kernel.entries.active
    (made,) = [e for e in run.watch.of(DecisionMade) if e.outcome != "skipped"]
    assert made.outcome == "rejected"


async def test_post_only_cross_with_reprice_market_takes_the_rest(tmp_path: Path) -> None:
    run = await post_only_crossed(tmp_path, "market")
    first, second = run.orders
    assert first.status is OrderStatus.REJECTED
    assert (second.order_type, second.status) == (OrderType.MARKET, OrderStatus.FILLED)
    assert run.position == D(1)
    assert second.avg_fill_price == D("99.5")


# ---- races: the venue fills while the kernel cancels or edits -----------------------------


# No fill in this bar; its close (101.2) moves the touch, so the timeout edits to 101.09.
RACE_BAR = bar(3, "101", "101.3", "100.95", "101.2")


class FillsDuringCancel(SimBroker):
    """A print through the order reaches the venue just before the cancel does."""

    raced = 0

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        self.raced += 1
        self.on_market(Trade(BTC, self.now(), "race", D("100"), D(5), "SELL"))
        return await super().cancel(client_order_ids)


class FillsDuringEdit(SimBroker):
    race_size = D(5)
    raced = 0

    async def edit(self, client_order_id: str, *, size: D | None, price: D | None) -> Order:
        self.raced += 1
        self.on_market(Trade(BTC, self.now(), "race", D("100"), self.race_size, "SELL"))
        return await super().edit(client_order_id, size=size, price=price)


class PartFillsDuringEdit(FillsDuringEdit):
    race_size = D("0.2")


async def test_a_cancel_racing_a_fill_places_no_replacement(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(), volume_participation="0.5", broker_cls=FillsDuringCancel)
    await run.feed(*OPENING, *PARTIAL)
    assert run.broker.raced == 1  # type: ignore[attr-defined]
    (order,) = run.orders  # no replacement: the rest filled before the cancel arrived
    assert order.status is OrderStatus.FILLED
    assert run.position == D(1)
    assert not run.kernel.entries.active
    assert run.watch.most_working == 1


async def test_an_edit_racing_a_full_fill_leaves_the_fill_as_the_position(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path, limit_policy(reprice="edit"), broker_cls=FillsDuringEdit)
    await run.feed(*OPENING, *PARTIAL[:1], RACE_BAR)
    assert run.broker.raced == 1  # type: ignore[attr-defined]
    (order,) = run.orders
    assert order.status is OrderStatus.FILLED
    assert order.limit_price == D("100.89")  # the refused edit changed nothing
    assert run.position == D(1)
    assert not run.kernel.entries.active


async def test_an_edit_racing_a_partial_fill_moves_only_the_rest(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(reprice="edit"), broker_cls=PartFillsDuringEdit)
    await run.feed(*OPENING, *PARTIAL[:1], RACE_BAR)
    assert run.broker.raced == 1  # type: ignore[attr-defined]
    (order,) = run.orders
    assert (order.status, order.filled_size, order.size) == (
        OrderStatus.PARTIALLY_FILLED,
        D("0.2"),
        D(1),
    )
    assert order.limit_price == D("101.09")
    assert run.exchange.order(order.client_order_id).limit_price == D("101.09")  # type: ignore[union-attr]
    assert run.position == D("0.2")
    assert run.kernel.entries.busy(BTC)
    assert run.watch.most_working == 1


# ---- bad [execution] input: one line, exit 2, nothing placed --------------------------------


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        ('entry = "limit"\noffset_bps = -5', "execution.offset_bps"),
        ('entry = "limit"\ntimeout_s = 0', "execution.timeout_s"),
        ('entry = "post_only"\ntimeout_s = "-5m"', "execution.timeout_s"),
        ('entry = "iceberg"', "execution.entry"),
        ('entry = "limit"\nreprice = "twap"', "execution.reprice"),
        ("cancel_give_up_s = 0", "execution.cancel_give_up_s"),
        ('cancel_give_up_s = "soon"', "execution.cancel_give_up_s"),
        ("cancel_retries = -1", "execution.cancel_retries"),
    ],
)
@pytest.mark.parametrize("command", ["config show", "run"])
def test_bad_execution_settings_are_one_line_and_exit_2(
    tmp_path: Path, lines: str, needle: str, command: str
) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text(
        f'[profile]\nname = "bad"\n[feed]\nuse = "synthetic"\npace_s = 0\n[execution]\n{lines}\n'
    )
    state = tmp_path / "state"
    args = [*command.split(), "--profile", str(profile)]
    if command == "run":
        args += ["--state-dir", str(state), "--for", "1s"]
    proc = _cli(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (state / "gpt_trader.db").exists()  # nothing recorded, nothing placed


async def test_the_profile_reaches_the_kernel_and_the_brokers(
    tmp_path: Path, plugin_manager: Any
) -> None:
    from gpt_trader.app import assemble
    from gpt_trader.config import BotConfig

    config = BotConfig(
        profile={"name": "entries", "universe": [BTC]},
        voter={"use": "consensus"},
        broker={"use": "sim", "persist": False},
        feed={"use": "synthetic", "pace_s": 0},
        execution={
            "entry": "post_only",
            "offset_bps": "2.5",
            "timeout_s": "90s",
            "reprice": "edit",
            "max_reprices": 1,
            "fill_on_touch": True,
            "preview": True,
        },
    )
    runtime = await assemble(config, plugin_manager, tmp_path / "state", durable=False)
    try:
        assert runtime.kernel.parts.execution == ExecutionPolicy(
            entry="post_only", offset_bps=D("2.5"), timeout_s=90.0, reprice="edit", max_reprices=1
        )
        # what brokers read from BuildContext.options: the adapter previews, the sim touches
        assert runtime.extra["options"]["preview"] is True
        exchange = runtime.kernel.broker.exchange  # type: ignore[attr-defined]
        assert exchange.engine(BTC).fill_on_touch is True
    finally:
        await runtime.kernel.broker.stop()


# ---- a restart resumes a working entry ------------------------------------------------------


FLAT = [bar(n, "101.2", "101.5", "101.1", "101.2") for n in range(2, 9)]  # fills no entry


async def test_a_restart_keeps_the_entrys_timer_from_its_placement(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(timeout_s=300.0))
    await run.feed(*OPENING, *FLAT[:2])  # placed at bar 1's close; 120 s later the bot dies
    (first,) = run.orders
    await run.restart()
    assert run.kernel.entries.busy(BTC)
    await run.feed(*FLAT[2:4])  # 240 s after the placement: still working
    assert [o.client_order_id for o in run.orders] == [first.client_order_id]
    await run.feed(FLAT[4])  # 300 s after the placement (180 s after the restart): repriced
    assert len(run.orders) == 2
    assert run.exchange.order(first.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert len(run.exchange.open_orders()) == 1  # never two working entries
    skipped = [d for d in run.watch.of(DecisionMade) if d.outcome == "skipped"]
    assert skipped  # the restarted signal's LONG met the working entry, placed nothing


async def test_a_restart_keeps_the_reprices_used(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(timeout_s=60.0, max_reprices=1))
    await run.feed(*OPENING, FLAT[0])  # 60 s: the one reprice is used
    first, second = run.orders
    assert first.status is OrderStatus.CANCELLED
    await run.restart()
    await run.feed(FLAT[1])  # 60 s after the replacement: no reprice is left, it is cancelled
    assert run.exchange.order(second.client_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    first_decision = sorted(cid for cid in run.stored() if cid.startswith("run1"))
    assert first_decision == [first.client_order_id, second.client_order_id]  # no third
    # The restarted signal's LONG is a new decision, entered once the old one was over.
    assert len(run.exchange.open_orders()) == 1


class DeafCancel(SimBroker):
    """A cancel that never reaches the venue (the bot dies before it goes out)."""

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        raise BrokerError("connection reset")


async def test_a_restart_sends_again_a_cancel_that_was_on_its_way(tmp_path: Path) -> None:
    run = Run(tmp_path, limit_policy(timeout_s=60.0), broker_cls=DeafCancel)
    await run.feed(*OPENING, FLAT[0])  # timed out: cancel sent, never arrived
    (first,) = run.orders
    assert run.exchange.order(first.client_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]
    await run.restart()
    await run.feed(FLAT[1])
    first_now, replacement = sorted(
        (run.exchange.order(o.client_order_id) for o in run.orders),  # type: ignore[misc]
        key=lambda o: o.client_order_id,
    )
    assert first_now.status is OrderStatus.CANCELLED
    assert replacement.status is OrderStatus.OPEN
    assert len(run.exchange.open_orders()) == 1
    assert run.store.kernel_state()[f"entry:{BTC}"]["reprices"] == 1


# ---- a cancel the venue never confirms: bounded, then flagged --------------------------------


class SilentCancel(SimBroker):
    """A venue that takes cancels and does nothing: no confirmation, the order stays open."""

    sent = 0

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        SilentCancel.sent += 1
        return {}


async def test_an_unconfirmed_cancel_is_given_up_on_flagged_and_blocks_entries(
    tmp_path: Path,
) -> None:
    SilentCancel.sent = 0
    policy = limit_policy(timeout_s=60.0, cancel_retries=2, cancel_give_up_s=180.0)
    run = Run(tmp_path, policy, broker_cls=SilentCancel)
    await run.feed(*OPENING, FLAT[0])  # timed out: the cancel goes (and is never answered)
    (order,) = run.orders
    cid = order.client_order_id
    await run.feed(*FLAT[1:3])  # sent again every 60 s (180 s / 3)
    assert SilentCancel.sent == 3
    assert not run.watch.of(CancelUnconfirmed)
    await run.feed(*FLAT[3:6])  # 180 s after the first: given up, nothing more is sent
    assert SilentCancel.sent == 3
    [flag] = run.watch.of(CancelUnconfirmed)
    assert (flag.client_order_id, flag.symbol, flag.attempts, flag.resolved) == (cid, BTC, 3, False)
    # Never assumed cancelled: the order works, in the kernel, the store and the venue.
    assert run.kernel.orders[cid].status is OrderStatus.OPEN
    assert run.stored()[cid].status is OrderStatus.OPEN
    assert run.exchange.order(cid).status is OrderStatus.OPEN  # type: ignore[union-attr]
    assert len(run.orders) == 1  # no replacement while the cancel is unconfirmed
    assert run.kernel.cancels.blocked(BTC) == cid
    assert run.kernel.summary()["unconfirmed_cancels"] == [cid]

    status = _status(tmp_path)
    assert [c["client_order_id"] for c in status["unconfirmed_cancels"]] == [cid]
    table = _status(tmp_path, json_out=False)
    assert f"{cid} on {BTC}: cancel unconfirmed" in table

    # The venue finally reports the order over: the flag clears, the entry goes on.
    run.exchange.cancel(cid, run.clock.now())
    await run.feed(FLAT[6])
    assert [e.resolved for e in run.watch.of(CancelUnconfirmed)] == [False, True]
    assert not run.kernel.cancels.blocked(BTC)
    assert _status(tmp_path)["unconfirmed_cancels"] == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``gpt-trader ARGS`` in a subprocess, as a user runs it."""
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def _status(state_dir: Path, *, json_out: bool = True) -> Any:
    proc = _cli("status", "--state-dir", str(state_dir), *(["--json"] if json_out else []))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if json_out else proc.stdout


async def test_a_new_entry_waits_for_an_unconfirmed_cancel_on_its_product(tmp_path: Path) -> None:
    SilentCancel.sent = 0
    policy = limit_policy(timeout_s=60.0, max_reprices=0, cancel_retries=0, cancel_give_up_s=60.0)
    run = Run(tmp_path, policy, broker_cls=SilentCancel)
    await run.feed(*OPENING, *FLAT[:3])  # no reprice: cancelled at 60 s, given up at 120 s
    (order,) = run.orders
    assert run.kernel.cancels.blocked(BTC) == order.client_order_id
    decisions = len(run.watch.of(DecisionMade))
    run.kernel.parts.signals[BTC] = [LongOnce(level="0")]
    await run.feed(FLAT[3])
    [decision] = run.watch.of(DecisionMade)[decisions:]
    assert decision.outcome == "blocked"
    assert f"the cancel of {order.client_order_id} is unconfirmed" in decision.detail
    assert len(run.orders) == 1  # nothing placed on the product
