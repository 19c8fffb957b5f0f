"""Pre-trade guards: each trips exactly at its boundary, names value and threshold, and
never traps a position (exits pass where the guard limits exposure).

Boundary convention: caps (max_*) allow the maximum itself and trip one step above it;
floors trip one step below. Binary guards (window, reduce-only, product limits) are shown
on both sides of their edge.
"""

from __future__ import annotations

from decimal import Decimal as D

from gpt_trader.domain import BookUpdate, Severity
from gpt_trader.domain.market import NS
from gpt_trader_risk.book import Book
from risk_support import SPOT_TOP10, T0, FakeState, build_guard, product, req, working

OK, WARN, BLOCK = Severity.OK, Severity.WARN, Severity.RECOVERABLE


def assert_blocks(result, *fragments: str) -> None:
    assert result.severity is BLOCK, result
    assert not result.ok
    for fragment in fragments:
        assert fragment in result.message, (fragment, result.message)


# ---- max_order_size -----------------------------------------------------------------
def test_max_order_size_boundary(state: FakeState) -> None:
    guard = build_guard("max_order_size", max_size={"BTC-USD": "0.5"})
    assert guard.check(req(size="0.3"), state).severity is OK
    at = guard.check(req(size="0.5"), state)
    assert at.severity is WARN  # at the max: allowed, in the warning band
    over = guard.check(req(size="0.5001"), state)
    assert_blocks(over, "0.5001", "max 0.5", "exceeds")
    assert over.value == D("0.5001")
    assert over.threshold == D("0.5")
    assert over.context["symbol"] == "BTC-USD"


def test_max_order_size_notional_and_unlisted(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(100)
    guard = build_guard("max_order_size", max_notional="1000")
    assert guard.check(req(size="10"), state).ok
    assert_blocks(guard.check(req(size="10.01"), state), "1001.00", "max 1000", "@ 100")
    only_eth = build_guard("max_order_size", max_size={"ETH-USD": "1"})
    assert_blocks(only_eth.check(req("BTC-USD", size="0.1"), state), "no max_size", "BTC-USD")
    star = build_guard("max_order_size", max_size={"ETH-USD": "1", "*": "0.2"})
    assert star.check(req("BTC-USD", size="0.2"), state).ok
    assert not star.check(req("BTC-USD", size="0.21"), state).ok


def test_max_order_size_lets_exits_through(state: FakeState) -> None:
    state.hold("BTC-USD", "2", "100")
    guard = build_guard("max_order_size", max_size="0.5")
    assert guard.check(req(side="SELL", size="2"), state).ok
    assert not guard.check(req(side="SELL", size="2.0001"), state).ok  # would flip: not an exit
    strict = build_guard("max_order_size", max_size="0.5", check_exits=True)
    assert not strict.check(req(side="SELL", size="2"), state).ok


# ---- max_position -------------------------------------------------------------------
def test_max_position_boundary_with_current_and_pending(state: FakeState) -> None:
    state.hold("BTC-USD", "0.5", "100")
    state.open_orders.append(working("BTC-USD", "BUY", "0.1"))
    guard = build_guard("max_position", max_size={"BTC-USD": "1"})
    assert guard.check(req(size="0.4"), state).ok
    over = guard.check(req(size="0.4001"), state)
    assert_blocks(over, "1.0001", "max 1", "current 0.5", "pending 0.1", "BUY 0.4001")
    assert over.value == D("1.0001")
    assert over.threshold == D(1)


def test_max_position_shorts_and_exits(state: FakeState) -> None:
    state.hold("BTC-USD", "0.8", "100")
    guard = build_guard("max_position", max_size="1")
    assert guard.check(req(side="SELL", size="0.8"), state).ok  # exit
    assert guard.check(req(side="SELL", size="1.8"), state).ok  # flips to -1: at the max
    assert_blocks(guard.check(req(side="SELL", size="1.8001"), state), "1.0001")


def test_canary_profile_shape(state: FakeState) -> None:
    guard = build_guard("max_position", max_size={"BTC-USD": "0.01"})
    assert guard.check(req(size="0.01"), state).ok
    assert_blocks(guard.check(req(size="0.0101"), state), "0.0101", "max 0.01")
    assert_blocks(
        guard.check(req("ETH-USD", size="0.01"), state), "no max_size configured for ETH-USD"
    )


# ---- notional_caps ------------------------------------------------------------------
def test_notional_caps_boundary(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(50_000)
    guard = build_guard("notional_caps", caps={"BTC-USD": "5000"})
    assert guard.check(req(size="0.1"), state).severity is WARN
    over = guard.check(req(size="0.1001"), state)
    assert_blocks(over, "5005.00", "cap 5000", "@ 50000")
    assert over.value == D("5005.0000")
    assert over.threshold == D(5000)


def test_notional_caps_from_the_risk_file(state: FakeState) -> None:
    guard = build_guard("notional_caps", file=str(SPOT_TOP10))
    state.prices.update({"BTC-USD": D(100_000), "SOL-USD": D(200)})
    assert guard.check(req("BTC-USD", size="0.05"), state).ok
    assert_blocks(guard.check(req("BTC-USD", size="0.0501"), state), "cap 5000")
    assert guard.check(req("SOL-USD", size="10"), state).ok
    assert_blocks(guard.check(req("SOL-USD", size="10.01"), state), "2002.00", "cap 2000")
    state.prices["DOT-USD"] = D(5)
    blocked = guard.check(req("DOT-USD", size="1"), state)
    assert_blocks(blocked, "no notional cap for DOT-USD", "spot_top10.toml")
    allow = build_guard("notional_caps", file=str(SPOT_TOP10), unlisted="allow")
    assert allow.check(req("DOT-USD", size="1"), state).ok


def test_notional_caps_exit_and_missing_price(state: FakeState) -> None:
    guard = build_guard("notional_caps", caps={"BTC-USD": "100"})
    assert_blocks(guard.check(req(size="1"), state), "no price")
    state.hold("BTC-USD", "5", "100")  # already over the cap (e.g. the cap was lowered)
    assert guard.check(req(side="SELL", size="1"), state).ok


# ---- leverage -----------------------------------------------------------------------
def test_leverage_boundary(state: FakeState) -> None:
    state.hold("ETH-USD", "20", "100")  # 2000 of 10000 equity
    state.prices["BTC-USD"] = D(100)
    guard = build_guard("leverage")  # spot: 1
    assert guard.check(req(size="80"), state).severity is WARN  # exactly 1.0
    over = guard.check(req(size="80.01"), state)
    assert_blocks(over, "1.0001", "max 1", "gross 10001.00", "equity 10000.00")
    assert over.value == D("1.0001")
    assert guard.check(req("ETH-USD", side="SELL", size="20"), state).ok


def test_leverage_field_and_equity(state: FakeState) -> None:
    from dataclasses import replace

    guard = build_guard("leverage", max_leverage="3")
    state.prices["BTC-USD"] = D(100)
    levered = replace(req(size="1"), leverage=D("3.5"))
    assert_blocks(guard.check(levered, state), "order leverage 3.5", "max 3")
    state.equity = D(0)
    assert_blocks(guard.check(req(size="1"), state), "equity 0.00 is not positive")


# ---- impact_cost --------------------------------------------------------------------
class BookState(FakeState):
    def __init__(self, books: dict[str, object]) -> None:
        super().__init__()
        self.book = books


def test_impact_cost_without_a_book_warns(state: FakeState) -> None:
    guard = build_guard("impact_cost")
    result = guard.check(req(), state)
    assert result.severity is WARN
    assert "no book" in result.message
    strict = build_guard("impact_cost", missing_book="block")
    assert_blocks(strict.check(req(), state), "no book")


def test_impact_cost_boundary() -> None:
    book = BookUpdate("BTC-USD", T0, bids=((D(99), D(5)),), asks=((D(101), D(1)), (D(103), D(1))))
    state = BookState({"BTC-USD": book})
    guard = build_guard("impact_cost", max_bps="100")
    at = guard.check(req(size="1"), state)  # VWAP 101 vs mid 100: 100 bps
    assert at.severity is WARN
    assert at.value == D(100)
    over = guard.check(req(size="1.5"), state)  # VWAP 101.667: 166.7 bps
    assert_blocks(over, "166.667 bps", "max 100 bps", "mid 100")
    assert_blocks(guard.check(req(size="2.5"), state), "holds 2 of 2.5")
    passive = guard.check(req(size="2", limit="100"), state)  # rests below the ask
    assert passive.ok


def test_impact_cost_reads_a_callable_book() -> None:
    state = BookState({})
    state.book = lambda symbol: Book(((D(99), D(5)),), ((D(101), D(5)),))  # type: ignore[assignment]
    guard = build_guard("impact_cost", max_bps="100")
    assert guard.check(req(side="SELL", size="3"), state).ok  # VWAP 99 vs mid 100: 100 bps


# ---- liquidity ----------------------------------------------------------------------
def test_liquidity_spread_boundary() -> None:
    guard = build_guard("liquidity", max_spread_bps="20")
    tight = BookState({"BTC-USD": Book(((D("99.9"), D(1)),), ((D("100.1"), D(1)),))})
    assert guard.check(req(), tight).severity is WARN  # exactly 20 bps
    wide = BookState({"BTC-USD": Book(((D("99.9"), D(1)),), ((D("100.11"), D(1)),))})
    over = guard.check(req(), wide)
    assert_blocks(over, "20.999 bps", "max 20 bps", "bid 99.9", "ask 100.11")


def test_liquidity_depth_floor() -> None:
    guard = build_guard("liquidity", max_spread_bps="50", min_depth="1000", levels=2)
    deep = BookState({"BTC-USD": Book(((D("99.9"), D(20)),), ((D(100), D(5)), (D(100), D(5))))})
    assert guard.check(req(), deep).ok  # 1000 exactly
    thin = BookState(
        {"BTC-USD": Book(((D("99.9"), D(20)),), ((D(100), D(5)), (D(100), D("4.99"))))}
    )
    assert_blocks(guard.check(req(), thin), "depth BTC-USD 999.00", "min 1000")
    no_book = FakeState()
    assert guard.check(req(), no_book).severity is WARN


# ---- reduce_only --------------------------------------------------------------------
def test_reduce_only_flag_must_reduce(state: FakeState) -> None:
    guard = build_guard("reduce_only")
    state.hold("BTC-USD", "1", "100")
    assert guard.check(req(side="SELL", size="1", reduce_only=True), state).ok
    assert_blocks(
        guard.check(req(side="SELL", size="1.0001", reduce_only=True), state),
        "marked reduce-only would not reduce",
        "1.0001",
    )
    assert guard.check(req(size="1"), state).ok  # unflagged entries are not its business


def test_reduce_only_symbols(state: FakeState) -> None:
    guard = build_guard("reduce_only", symbols=["BTC-USD"])
    state.hold("BTC-USD", "1", "100")
    assert guard.check(req(side="SELL", size="0.5"), state).ok
    assert_blocks(guard.check(req(size="0.1"), state), "BTC-USD is reduce-only")
    assert guard.check(req("ETH-USD", size="1"), state).ok
    everything = build_guard("reduce_only", symbols=["*"])
    assert not everything.check(req("ETH-USD", size="1"), state).ok


# ---- money in messages ---------------------------------------------------------------------
def test_messages_print_money_on_the_quote_currency_increment(state: FakeState) -> None:
    """Through gpt_trader.domain.money: cents for USD, whole yen for JPY, half-even."""
    state.products["BTC-JPY"] = product("BTC-JPY")
    state.prices["BTC-JPY"] = D("15000000.5")
    guard = build_guard("max_order_size", max_notional="1000000")
    # 0.0999 * 15000000.5 = 1498500.04995 JPY
    assert_blocks(guard.check(req("BTC-JPY", size="0.0999"), state), "notional 1498500 exceeds")
    state.prices["BTC-USD"] = D("100.00125")
    usd = build_guard("max_order_size", max_notional="50")
    # 0.5 * 100.00125 = 50.000625: over the cap by less than a cent
    assert_blocks(
        usd.check(req(size="0.5"), state),
        "order notional 50.00 exceeds max 50 (by less than 0.01 USD)",
    )


# ---- product_limits -----------------------------------------------------------------
def test_product_limits(state: FakeState) -> None:
    guard = build_guard("product_limits")
    state.prices["BTC-USD"] = D(10_000)
    assert guard.check(req(size="0.0001"), state).ok  # the minimum, worth 1 USD
    assert_blocks(guard.check(req(size="0.00009"), state), "below the minimum 0.0001")
    assert_blocks(guard.check(req(size="0.00015"), state), "not a multiple of 0.0001")
    assert_blocks(guard.check(req(size="1000.0001"), state), "above the maximum 1000")
    assert_blocks(guard.check(req(size="1", limit="100.001"), state), "limit price")
    state.prices["BTC-USD"] = D(9_999)
    # 0.9999 USD prints as 1.00 (money to the cent): the message says it is short anyway.
    assert_blocks(
        guard.check(req(size="0.0001"), state),
        "order notional 1.00 USD is below the minimum 1",
        "(by less than 0.01 USD)",
    )
    assert_blocks(guard.check(req("DOT-USD"), state), "unknown product DOT-USD")


# ---- trading_window -----------------------------------------------------------------
def at(hh: int, mm: int, ss: int = 0) -> int:
    day = T0 - T0 % (86_400 * NS)
    return day + (hh * 3600 + mm * 60 + ss) * NS


def test_trading_window_edges(state: FakeState) -> None:
    guard = build_guard("trading_window", start="14:00", end="15:00")
    for ts, open_ in [
        (at(13, 59, 59), False),
        (at(14, 0), True),
        (at(14, 59, 59), True),
        (at(15, 0), False),
    ]:
        state.now = ts
        assert guard.check(req(), state).ok is open_, ts
    state.now = at(15, 0)
    assert_blocks(guard.check(req(), state), "14:00-15:00 UTC", "now 15:00:00 UTC")
    state.hold("BTC-USD", "1", "100")
    assert guard.check(req(side="SELL", size="1"), state).ok  # exits always


def test_trading_window_wraps_midnight(state: FakeState) -> None:
    guard = build_guard("trading_window", start="22:00", end="06:00")
    for ts, open_ in [(at(21, 59), False), (at(23, 0), True), (at(5, 59), True), (at(6, 0), False)]:
        state.now = ts
        assert guard.check(req(), state).ok is open_
    whole = build_guard("trading_window", start="00:00", end="24:00")
    state.now = at(23, 59, 59)
    assert whole.check(req(), state).ok


# ---- max_open_orders ----------------------------------------------------------------
def test_max_open_orders_boundary(state: FakeState) -> None:
    guard = build_guard("max_open_orders", max_orders=2, per_symbol=1)
    state.open_orders.append(working("ETH-USD", "BUY", "1"))
    assert guard.check(req(), state).severity is WARN  # 2 of 2
    state.open_orders.append(working("SOL-USD", "BUY", "1"))
    assert_blocks(guard.check(req(), state), "working orders with this one 3", "max 2")
    per = build_guard("max_open_orders", max_orders=10, per_symbol=1)
    state.open_orders.append(working("BTC-USD", "BUY", "1"))
    assert_blocks(per.check(req(), state), "on BTC-USD with this one 2", "max 1")


# ---- orders_per_minute --------------------------------------------------------------
def test_orders_per_minute_boundary_and_window(state: FakeState) -> None:
    guard = build_guard("orders_per_minute", max_orders=3)
    results = []
    for _ in range(4):
        results.append(guard.check(req(), state))
        state.advance(10)
    assert [r.ok for r in results] == [True, True, True, False]
    assert_blocks(results[3], "with this one 4", "max 3", "last 60 s")
    state.advance(21)  # the first order left the window (t = 61 s)
    assert guard.check(req(), state).ok


def test_orders_per_minute_counts_exits_but_lets_them_pass(state: FakeState) -> None:
    guard = build_guard("orders_per_minute", max_orders=1)
    state.hold("BTC-USD", "1", "100")
    assert guard.check(req(side="SELL", size="0.5"), state).ok
    assert guard.check(req(side="SELL", size="0.5"), state).ok
    assert not guard.check(req("ETH-USD"), state).ok


# ---- stale_data ---------------------------------------------------------------------
def test_stale_data_boundary(state: FakeState) -> None:
    guard = build_guard("stale_data")
    state.market_ts["BTC-USD"] = state.now - 30 * NS
    assert guard.check(req(), state).ok  # exactly 30 s: not yet stale
    state.market_ts["BTC-USD"] = state.now - 30 * NS - NS // 1000
    over = guard.check(req(), state)
    assert_blocks(over, "30.001 s old", "max age 30 s")
    assert over.value == D("30.001")
    assert_blocks(guard.check(req("ETH-USD"), state), "no market data for ETH-USD")
    state.hold("BTC-USD", "1", "100")
    state.market_ts["BTC-USD"] = state.now - 3600 * NS
    assert guard.check(req(side="SELL", size="1"), state).ok  # exits pass on stale data


# ---- exposure -----------------------------------------------------------------------
def test_exposure_gross_and_groups(state: FakeState) -> None:
    state.hold("ETH-USD", "30", "100")  # 3000 = 30 %
    state.prices.update({"BTC-USD": D(100), "SOL-USD": D(10)})
    guard = build_guard(
        "exposure",
        max_gross_pct="60",
        groups={"majors": ["BTC-USD", "ETH-USD"]},
        max_group_pct="50",
    )
    assert guard.check(req(size="20"), state).severity is WARN  # majors 50 %
    assert_blocks(
        guard.check(req(size="20.01"), state), "group 'majors' exposure", "50.01%", "max 50%"
    )
    assert guard.check(req("SOL-USD", size="300"), state).ok  # gross 60 %, no group
    assert_blocks(guard.check(req("SOL-USD", size="300.1"), state), "gross exposure", "max 60%")
    assert guard.check(req("ETH-USD", side="SELL", size="30"), state).ok


def test_exposure_measured_correlation(state: FakeState) -> None:
    guard = build_guard(
        "exposure",
        max_gross_pct="100",
        min_correlation="0.9",
        max_correlated_pct="40",
        min_samples=10,
    )
    prices = {"BTC-USD": D(100), "ETH-USD": D(50), "SOL-USD": D(20)}
    for i in range(15):
        move = D("1.01") if i % 2 else D("0.99")
        prices["BTC-USD"] *= move
        prices["ETH-USD"] *= move  # moves with BTC
        prices["SOL-USD"] *= D("1.01") if i % 3 else D("0.98")  # its own path
        state.prices.update({s: p.quantize(D("0.0001")) for s, p in prices.items()})
        state.advance(1)
        assert guard.evaluate(state).severity is OK  # sampling only
    state.hold("ETH-USD", "60", state.prices["ETH-USD"])  # about 30 % of equity
    state.prices["SOL-USD"] = prices["SOL-USD"].quantize(D("0.0001"))
    blocked = guard.check(req("BTC-USD", size="15"), state)
    assert_blocks(blocked, "correlated with BTC-USD", "ETH-USD", "max 40%")
    sol_value = D(1000) / state.prices["SOL-USD"]
    assert guard.check(req("SOL-USD", size=f"{sol_value:.2f}"), state).ok


def test_stale_data_against_the_feed_time(state: FakeState) -> None:
    guard = build_guard("stale_data", reference="feed")
    state.now = T0 + 10**9 * NS  # a kernel clock far from the feed's (historical) times
    state.market_ts.update({"ETH-USD": T0, "BTC-USD": T0 - 30 * NS})
    assert guard.check(req(), state).ok  # 30 s behind the newest event
    state.market_ts["ETH-USD"] = T0 + NS // 1000
    assert_blocks(guard.check(req(), state), "BTC-USD is 30.001 s old")
    assert guard.check(req("ETH-USD"), state).ok
