"""The guards in a real kernel: fail-closed through core's GuardStack, scenarios (crash,
frozen feed, broker error burst, volatility spike) and properties over random sequences.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest
from gpt_trader.domain import Action, Severity, Side, TradingState
from gpt_trader.domain.events import DecisionMade, GuardTripped, OrderRejected, TradingStateChanged
from gpt_trader.domain.market import NS
from gpt_trader.engine.execution import ExecutionPolicy
from gpt_trader.engine.guards import GuardStack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_support import FakeState, Harness, Received, build_guard, req

# ---- fail closed --------------------------------------------------------------------------


class BrokenState(FakeState):
    """A state whose book-keeping raises, as a bug in the kernel or a fake might."""

    @property  # type: ignore[override]
    def positions(self) -> Any:
        raise RuntimeError("positions unavailable")

    @positions.setter
    def positions(self, value: Any) -> None:
        pass

    @property  # type: ignore[override]
    def equity(self) -> Any:
        raise RuntimeError("equity unavailable")

    @equity.setter
    def equity(self, value: Any) -> None:
        pass


def test_a_raising_pre_trade_guard_fails_closed_in_the_guard_stack() -> None:
    guard = build_guard("max_position", max_size="1")
    stack = GuardStack(pre_trade=[guard])
    (result,) = stack.check(req(), BrokenState())
    assert result.severity is Severity.CRITICAL
    assert result.action is TradingState.HALTED
    assert "failing closed" in result.message
    assert stack.metrics()["risk.guards.max_position.critical_failures"] == 1


def test_a_raising_runtime_guard_fails_closed_in_the_guard_stack() -> None:
    guard = build_guard("daily_loss", limit="10")
    stack = GuardStack(runtime=[guard])
    (result,) = stack.evaluate(BrokenState())
    assert result.severity is Severity.CRITICAL
    assert result.action is TradingState.HALTED
    assert "RuntimeError" in result.message


def test_a_recoverable_block_is_counted(state: FakeState) -> None:
    guard = build_guard("max_order_size", max_size="1")
    stack = GuardStack(pre_trade=[guard])
    stack.check(req(size="2"), state)
    assert stack.metrics()["risk.guards.max_order_size.recoverable_failures"] == 1


async def test_a_raising_guard_halts_the_kernel_and_sends_nothing() -> None:
    h = Harness([("max_position", {"max_size": "5"})])
    await h.start()
    await h.price("BTC-USD", "100")

    def boom(request: Any, state: Any) -> Any:
        raise ZeroDivisionError("bug")

    h.guards[0].check = boom
    assert await h.order("BTC-USD", "BUY", "1") is None
    assert h.broker.received == []
    assert h.kernel.trading_state is TradingState.HALTED
    (rejected,) = h.sink.of(OrderRejected)
    assert rejected.source == "guard:max_position"


# ---- scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guards", "crash_to", "tripped"),
    [
        ([("daily_loss", {"limit": "100"})], "97", "daily_loss"),
        ([("max_drawdown", {"pct": "10"})], "88", "max_drawdown"),
    ],
)
async def test_a_crash_leaves_the_kernel_reducing_only(
    guards: list[tuple[str, dict[str, Any]]], crash_to: str, tripped: str
) -> None:
    from gpt_trader.basics import NotionalParams, NotionalSize

    h = Harness(guards, sizer=NotionalSize(NotionalParams(notional=D(9000))))
    await h.start()
    await h.price("ETH-USD", "50")
    h.voter.want["BTC-USD"] = Action.LONG
    await h.price("BTC-USD", "100")
    assert h.position("BTC-USD") == D(90)
    h.voter.want.clear()
    for price in ("99", "95", "91", crash_to):  # the feed falls, the timer runs
        await h.price("BTC-USD", price)
        await h.tick()
    assert h.kernel.trading_state is TradingState.REDUCE_ONLY
    (change,) = h.sink.of(TradingStateChanged)
    assert tripped in change.reason
    assert not change.operator
    trip = next(e.result for e in h.sink.of(GuardTripped) if e.result.severity is Severity.CRITICAL)
    assert trip.value is not None
    assert trip.threshold is not None

    sent = len(h.broker.received)
    h.voter.want["ETH-USD"] = Action.LONG  # a new entry: refused before the broker
    await h.price("ETH-USD", "50")
    assert h.sink.of(DecisionMade)[-1].outcome == "blocked"
    assert await h.order("ETH-USD", "BUY", "1") is None
    assert len(h.broker.received) == sent

    h.voter.want["BTC-USD"] = Action.FLAT  # the exit still goes out
    await h.price("BTC-USD", crash_to)
    assert h.position("BTC-USD") == 0
    exit_ = h.broker.received[-1].request
    assert exit_.side is Side.SELL
    assert exit_.reduce_only
    assert h.kernel.trading_state is TradingState.REDUCE_ONLY


async def test_a_frozen_feed_blocks_entries_on_that_symbol() -> None:
    h = Harness([("stale_data", {"max_age_s": "30"})])
    await h.start()
    await h.price("BTC-USD", "100")
    await h.price("ETH-USD", "50", after_s=0)
    await h.order("BTC-USD", "BUY", "2")
    assert h.position("BTC-USD") == 2
    for _ in range(6):  # BTC-USD freezes; ETH-USD keeps ticking
        await h.price("ETH-USD", "50", after_s=10)
        await h.tick(after_s=0)
    assert await h.order("BTC-USD", "BUY", "1") is None
    rejected = h.sink.of(OrderRejected)[-1]
    assert rejected.source == "guard:stale_data"
    assert "BTC-USD is 60.000 s old" in rejected.reason
    assert "max age 30 s" in rejected.reason
    warn = [e.result for e in h.sink.of(GuardTripped) if e.result.severity is Severity.WARN]
    assert warn
    assert "BTC-USD" in warn[0].message
    assert await h.order("ETH-USD", "BUY", "1") is not None
    assert await h.order("BTC-USD", "SELL", "2") is not None  # exits pass
    assert h.position("BTC-USD") == 0
    assert h.kernel.trading_state is TradingState.ACTIVE


async def test_a_burst_of_broker_errors_halts_trading() -> None:
    h = Harness([("error_rate", {"min_calls": 5, "max_rate": "0.5"})])
    await h.start()
    await h.price("BTC-USD", "100")
    await h.order("BTC-USD", "BUY", "1")
    h.broker.failing = True
    for _ in range(5):
        await h.order("BTC-USD", "BUY", "0.1")
    assert h.kernel.broker_errors == 5
    await h.tick()
    assert h.kernel.trading_state is TradingState.HALTED
    (change,) = h.sink.of(TradingStateChanged)
    assert "error_rate" in change.reason
    assert "5 of 6 calls" in change.reason
    h.broker.failing = False
    sent = len(h.broker.received)
    assert await h.order("BTC-USD", "SELL", "1") is None  # halted: nothing at all
    assert len(h.broker.received) == sent


async def test_a_volatility_spike_trips_the_breaker() -> None:
    h = Harness([("volatility_breaker", {"pct": "5", "window_s": "300"})])
    await h.start()
    for price in ("100", "101", "100.5", "102"):
        await h.price("BTC-USD", price, after_s=30)
        await h.tick(after_s=0)
    assert h.kernel.trading_state is TradingState.ACTIVE
    await h.price("BTC-USD", "106", after_s=30)  # 6 % above the window's low
    await h.tick(after_s=0)
    assert h.kernel.trading_state is TradingState.REDUCE_ONLY
    (change,) = h.sink.of(TradingStateChanged)
    assert "BTC-USD moved 6.00% within 300 s (100 -> 106)" in change.reason


async def test_only_the_operator_loosens() -> None:
    h = Harness([("max_drawdown", {"pct": "1"})])
    await h.start()
    await h.price("BTC-USD", "100")
    await h.order("BTC-USD", "BUY", "50")
    await h.price("BTC-USD", "97")
    await h.tick()
    assert h.kernel.trading_state is TradingState.REDUCE_ONLY
    await h.price("BTC-USD", "100")  # recovered: the kernel stays tight
    await h.tick()
    assert h.kernel.trading_state is TradingState.REDUCE_ONLY
    h.kernel.operator_set_state(TradingState.ACTIVE, "reviewed")
    await h.tick()
    assert h.kernel.trading_state is TradingState.ACTIVE
    loosened = [e for e in h.sink.of(TradingStateChanged) if e.new < e.old]
    assert [e.operator for e in loosened] == [True]


# ---- properties ---------------------------------------------------------------------------

LIMITS = {
    "max_order": D(2),
    "max_position": D(3),
    "caps": {"BTC-USD": D(250), "ETH-USD": D(100)},
    "max_age_s": D(30),
    "per_minute": 6,
}
GUARDS: list[tuple[str, dict[str, Any]]] = [
    ("product_limits", {}),
    ("reduce_only", {}),
    ("max_order_size", {"max_size": str(LIMITS["max_order"])}),
    ("max_position", {"max_size": str(LIMITS["max_position"])}),
    ("notional_caps", {"caps": {k: str(v) for k, v in LIMITS["caps"].items()}}),
    ("leverage", {}),
    ("stale_data", {"max_age_s": str(LIMITS["max_age_s"])}),
    ("daily_loss", {"limit": "12"}),
    ("max_drawdown", {"pct": "3"}),
    ("error_rate", {"min_calls": 3}),
    ("volatility_breaker", {"pct": "8", "window_s": "120"}),
    ("consecutive_losses", {"max_losses": 3}),
    ("orders_per_minute", {"max_orders": LIMITS["per_minute"]}),
]
SYMBOLS = ("BTC-USD", "ETH-USD")

symbols = st.sampled_from(SYMBOLS)
price_step = st.tuples(
    st.just("price"), symbols, st.integers(-150, 150), st.integers(0, 45)
)  # a move in tenths of a percent, so many seconds later
order_step = st.tuples(
    st.just("order"),
    symbols,
    st.sampled_from(["BUY", "SELL"]),
    st.decimals(min_value=D("0.01"), max_value=D("2.5"), places=2),
    st.sampled_from([False, False, False, True]),  # reduce_only flag
)
steps = st.one_of(
    price_step,
    price_step,
    order_step,
    order_step,
    order_step,
    st.tuples(st.just("decide"), symbols, st.sampled_from([Action.LONG, Action.FLAT])),
    st.tuples(st.just("timer"), st.integers(1, 90)),
    st.tuples(st.just("fail"), st.sampled_from([False, False, True])),
    st.tuples(
        st.just("operator"),
        st.sampled_from(
            [TradingState.ACTIVE] * 3 + [TradingState.REDUCE_ONLY, TradingState.HALTED]
        ),
    ),
)


def reduces(r: Received) -> bool:
    pos = r.position
    if pos == 0:
        return False
    closing = r.request.side is (Side.SELL if pos > 0 else Side.BUY)
    return closing and r.request.size <= abs(pos)


def breaches(r: Received, earlier: list[Received], products: dict[str, Any]) -> list[str]:
    """What pre-trade limit ``r`` broke, judged from what the kernel knew when it was sent."""
    out: list[str] = []
    request = r.request
    if r.trading_state is TradingState.HALTED:
        out.append("sent while halted")
    exit_ = reduces(r)
    if r.trading_state is TradingState.REDUCE_ONLY and not exit_:
        out.append("entry sent while reduce-only")
    if products[request.symbol].size_error(request.size):
        out.append("venue size limits")
    if request.reduce_only and not exit_:
        out.append("reduce-only order that does not reduce")
    if exit_:
        return out
    signed = request.size if request.side is Side.BUY else -request.size
    after = abs(r.position + signed)
    if request.size > LIMITS["max_order"]:
        out.append("max order size")
    if after > LIMITS["max_position"]:
        out.append("max position")
    if r.price is None or after * r.price > LIMITS["caps"][request.symbol]:
        out.append("notional cap")
    if r.price is not None:
        gross = r.gross - abs(r.position) * r.price + after * r.price
        if gross > r.equity:
            out.append("leverage")
    if r.market_ts is None or D(r.now - r.market_ts) / NS > LIMITS["max_age_s"]:
        out.append("stale data")
    recent = [e for e in earlier if e.now > r.now - 60 * NS]
    if len(recent) >= LIMITS["per_minute"]:
        out.append("orders per minute")
    return out


async def run(script: list[tuple[Any, ...]], prefer_sim: bool) -> Harness:
    from gpt_trader.basics import NotionalParams, NotionalSize

    h = Harness(
        GUARDS,
        symbols=SYMBOLS,
        cash="300",
        sizer=NotionalSize(NotionalParams(notional=D(60))),
        prefer_sim=prefer_sim,
    )
    await h.start()
    prices = {"BTC-USD": D(100), "ETH-USD": D(40)}
    await h.price("BTC-USD", prices["BTC-USD"], after_s=0)
    await h.price("ETH-USD", prices["ETH-USD"], after_s=0)
    state = h.kernel.trading_state
    for step in script:
        kind = step[0]
        operator = False
        if kind == "price":
            _, symbol, move, after = step
            prices[symbol] = min(max(prices[symbol] * (1 + D(move) / 1000), D(5)), D(1000))
            await h.price(symbol, prices[symbol], after_s=after)
        elif kind == "order":
            _, symbol, side, size, reduce_only = step
            await h.order(symbol, side, size, reduce_only=reduce_only)
        elif kind == "decide":
            _, symbol, action = step
            h.voter.want = {symbol: action}
            await h.price(symbol, prices[symbol], after_s=1)
            h.voter.want = {}
        elif kind == "timer":
            await h.tick(after_s=step[1])
        elif kind == "fail":
            h.broker.failing = step[1]
        elif kind == "operator":
            h.kernel.operator_set_state(step[1], "test operator")
            operator = True
        if not operator:
            assert h.kernel.trading_state >= state, f"loosened without an operator at {step}"
        state = h.kernel.trading_state
    return h


@pytest.mark.parametrize("prefer_sim", [True, False], ids=["sim-broker", "tiny-broker"])
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=st.lists(steps, min_size=5, max_size=60))
def test_no_breaching_order_reaches_the_broker(
    prefer_sim: bool, script: list[tuple[Any, ...]]
) -> None:
    h = asyncio.run(run(script, prefer_sim))
    for i, received in enumerate(h.broker.received):
        problems = breaches(received, h.broker.received[:i], h.products)
        assert not problems, (problems, received)
    for change in h.sink.of(TradingStateChanged):
        if change.new < change.old:
            assert change.operator, change
        else:
            assert change.new > change.old


@settings(max_examples=40, deadline=None, database=None)
@given(
    path=st.lists(st.integers(-80, 80), min_size=5, max_size=60),
    size=st.decimals(min_value=D("0.5"), max_value=D(3), places=1),
)
def test_after_a_trip_only_exits_reach_the_broker(path: list[int], size: D) -> None:
    async def go() -> Harness:
        h = Harness(
            [("daily_loss", {"limit": "15"}), ("max_drawdown", {"pct": "2"})],
            cash="1000",
        )
        await h.start()
        price = D(100)
        await h.price("BTC-USD", price)
        await h.order("BTC-USD", "BUY", size)
        for move in path:
            price = max(price * (1 + D(move) / 1000), D(10))
            await h.price("BTC-USD", price, after_s=5)
            await h.tick(after_s=0)
            await h.order("BTC-USD", "BUY", "0.1")  # keeps trying to add
        return h

    h = asyncio.run(go())
    tripped_at = next(
        (i for i, r in enumerate(h.broker.received) if r.trading_state is not TradingState.ACTIVE),
        None,
    )
    if tripped_at is not None:
        assert all(reduces(r) for r in h.broker.received[tripped_at:])
    if h.kernel.trading_state is not TradingState.ACTIVE:
        assert all(not e.operator for e in h.sink.of(TradingStateChanged))


# ---- resting limit entries count -----------------------------------------------------------


async def resting_btc_entry(guards: list[tuple[str, dict[str, Any]]]) -> Harness:
    """A BTC-USD limit entry rests (1% under the last price); then ETH-USD wants in."""
    policy = ExecutionPolicy(entry="limit", offset_bps=D(100), timeout_s=3600.0)
    h = Harness(guards, execution=policy)
    await h.start()
    await h.price("ETH-USD", "50")
    h.voter.want["BTC-USD"] = Action.LONG
    await h.price("BTC-USD", "100")
    (working,) = h.kernel.open_orders
    assert (working.symbol, working.limit_price, working.remaining) == ("BTC-USD", D(99), D(10))
    assert h.position("BTC-USD") == 0
    h.voter.want["ETH-USD"] = Action.LONG
    await h.price("ETH-USD", "50")
    return h


async def test_exposure_counts_a_resting_entry_on_another_symbol() -> None:
    # 1000 notional per entry, 10% of the 10000 equity each: the second makes 20%
    h = await resting_btc_entry([("exposure", {"max_gross_pct": "15"})])
    rejected = h.sink.of(OrderRejected)[-1]
    assert rejected.source == "guard:exposure"
    assert rejected.request.symbol == "ETH-USD"
    assert "gross exposure" in rejected.reason
    assert h.position("ETH-USD") == 0


async def test_max_open_orders_counts_a_resting_entry() -> None:
    h = await resting_btc_entry([("max_open_orders", {"max_orders": "1"})])
    rejected = h.sink.of(OrderRejected)[-1]
    assert rejected.source == "guard:max_open_orders"
    assert rejected.request.symbol == "ETH-USD"
    assert len(h.kernel.open_orders) == 1


async def test_without_the_resting_entry_both_guards_pass() -> None:
    h = Harness([("exposure", {"max_gross_pct": "15"}), ("max_open_orders", {"max_orders": "1"})])
    await h.start()
    await h.price("ETH-USD", "50")
    h.voter.want["ETH-USD"] = Action.LONG
    await h.price("ETH-USD", "50")
    assert h.position("ETH-USD") == 20
    assert not h.sink.of(OrderRejected)
