"""Derivatives guards: liquidation buffer (runtime), leverage caps and initial margin
(pre-trade), on real simulator products; and the buffer in a real kernel over the sim
exchange, cutting a leveraged perpetual before the venue liquidates it."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from gpt_trader.domain import (
    LIQUIDATION_TAG,
    MarginRates,
    MarginSchedule,
    MarginType,
    OrderRequest,
    Reduction,
    Severity,
    Side,
    Trade,
    TradingState,
)
from gpt_trader.domain.market import NS
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.guards import GuardStack
from gpt_trader.engine.kernel import Kernel
from gpt_trader.sim import DerivativesConfig
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.testing import FROZEN_TS, derivative_product, manual_kernel
from gpt_trader_risk.derivatives import estimate_liquidation
from risk_support import PRODUCTS, T0, FakeState, build_ctx, build_guard, req, working

OK, WARN, BLOCK = Severity.OK, Severity.WARN, Severity.RECOVERABLE
PERP = "BTC-PERP"  # USDC, contract size 1, max leverage 20, margin rate 0.05
ETH_PERP = "ETH-PERP"
BIT = "BTC-FUT"  # USD, 0.01 BTC a contract, max leverage 10, margin windows
BIP = "BTC-PFUT"  # the same with hourly funding and uneven rates
SCHEDULE = MarginSchedule(intraday_start_s=13 * 3600, intraday_end_s=20 * 3600)
DERIVATIVES = {
    PERP: derivative_product(PERP, "perpetual"),
    ETH_PERP: derivative_product(
        ETH_PERP,
        "perpetual",
        base="ETH",
        base_increment=D("0.001"),
        price_increment=D("0.01"),
        base_min_size=D("0.001"),
    ),
    BIT: derivative_product(BIT, terms={"schedule": SCHEDULE}),
    BIP: derivative_product(
        BIP,
        terms={
            "schedule": SCHEDULE,
            "intraday": MarginRates(D("0.1000185"), D("0.1000008")),
            "overnight": MarginRates(D("0.245625"), D("0.306375")),
            "max_leverage": D(9),
            "funding_interval_s": 3600,
            "funding_rate": D("0.000013"),
        },
    ),
}
POOLS = {"FUTURES", "PERPETUALS"}
H = 3600 * NS
OVERNIGHT = T0  # Monday 12:00 UTC; the futures' intraday window is 13:00-20:00 UTC
INTRADAY = T0 + 2 * H
NEAR_CLOSE = T0 + 7 * H + 50 * 60 * NS  # 19:50, ten minutes before overnight rates
SATURDAY = T0 + 5 * 24 * H


@pytest.fixture
def state() -> FakeState:
    return FakeState(products={**PRODUCTS, **DERIVATIVES})


def deriv_req(symbol: str, side: str, size: str, **fields: object) -> OrderRequest:
    """A market order with derivative fields (``leverage``, ``reduce_only``) set."""
    return dataclasses.replace(req(symbol, side, size), **fields)  # type: ignore[arg-type]


# ---- liquidation_buffer -------------------------------------------------------------
def test_liquidation_buffer_bands_from_the_venue_figure(state: FakeState) -> None:
    guard = build_guard("liquidation_buffer", halt_within="0.04")
    state.hold(PERP, "1", "100000", liquidation_price="84000")
    assert guard.evaluate(state).severity is OK  # 16% away, outside warn_within 15%

    state.hold(PERP, "1", "100000", liquidation_price="90000")
    warn = guard.evaluate(state)
    assert warn.severity is WARN
    assert warn.reduce == ()
    assert warn.message == (
        "BTC-PERP long 1: mark 100000 is 10.00% from liquidation at 90000 (venue), "
        "within warn 15.00%"
    )
    assert (warn.value, warn.threshold) == (D("0.1"), D("0.15"))

    state.hold(PERP, "1", "100000", liquidation_price="92000")  # exactly reduce_within
    cut = guard.evaluate(state)
    assert cut.severity is BLOCK
    assert cut.reduce == (Reduction(PERP, D("0.5")),)
    assert "within reduce 8.00%; cutting 0.5 reduce-only" in cut.message

    state.hold(PERP, "-2", "100000", liquidation_price="103000")  # a short, 3% away
    halt = guard.evaluate(state)
    assert halt.severity is Severity.CRITICAL
    assert halt.action is TradingState.REDUCE_ONLY
    assert halt.reduce == (Reduction(PERP, D(1)),)
    assert halt.message.startswith("BTC-PERP short 2: mark 100000 is 3.00% from")


def test_liquidation_buffer_reports_once_but_asks_for_each_cut(state: FakeState) -> None:
    guard = build_guard("liquidation_buffer")
    state.hold("BTC-USD", "1", "100000")  # spot: never looked at
    state.hold(PERP, "1", "100000", liquidation_price="90000")
    assert guard.evaluate(state).severity is WARN
    assert guard.evaluate(state).severity is OK  # unchanged: already reported

    state.hold(PERP, "1", "100000", liquidation_price="95000")
    assert guard.evaluate(state).reduce == (Reduction(PERP, D("0.5")),)
    state.hold(PERP, "0.5", "100000", liquidation_price="95000")  # cut, still too close
    again = guard.evaluate(state)
    assert again.severity is BLOCK
    assert again.reduce == (Reduction(PERP, D("0.25")),)

    state.open_orders.append(working(PERP, "SELL", "0.25"))  # the kernel would skip it
    assert guard.evaluate(state).severity is OK
    state.open_orders.clear()
    state.trading_state = TradingState.HALTED  # nothing can be placed
    assert guard.evaluate(state).severity is OK
    state.trading_state = TradingState.ACTIVE

    state.hold(ETH_PERP, "-10", "3000", liquidation_price="3300")  # a second position: news
    both = guard.evaluate(state)
    assert both.severity is BLOCK
    assert both.message.endswith("(+1 more position(s) within 15.00%)")
    assert set(both.reduce) == {Reduction(PERP, D("0.25"))}
    assert "BTC-USD" not in both.message


@pytest.mark.parametrize(
    ("symbols", "ts", "intraday_margin"),
    [
        ([PERP], OVERNIGHT, False),
        ([PERP, ETH_PERP], OVERNIGHT, False),
        ([BIT], OVERNIGHT, False),
        ([BIT, BIP], INTRADAY, True),
    ],
)
def test_the_estimate_matches_the_simulators_cross_liquidation_price(
    symbols: list[str], ts: int, intraday_margin: bool
) -> None:
    products = {s: DERIVATIVES[s] for s in symbols}
    cash = D("10000")
    exchange = SimExchange(
        products,
        {"USD": D(0), "USDC": D(0)},
        derivatives=DerivativesConfig(
            pools=dict.fromkeys(POOLS, cash),
            taker_fee=D(0),
            maker_fee=D(0),
            intraday_margin=intraday_margin,
        ),
    )
    entries = {PERP: "100000", ETH_PERP: "3000", BIT: "100000", BIP: "100000"}
    sizes = {PERP: "1.2", ETH_PERP: "-10", BIT: "20", BIP: "-15"}
    for n, symbol in enumerate(symbols):
        exchange.on_market(Trade(symbol, ts, f"e{n}", D(entries[symbol]), D(1), "SELL"))
        side = Side.BUY if not sizes[symbol].startswith("-") else Side.SELL
        size = D(sizes[symbol].lstrip("-"))
        leverage = D(20) if symbol in (PERP, ETH_PERP) else None  # futures: the product rate
        order = exchange.submit(OrderRequest(f"o{n}", symbol, side, size, leverage=leverage), ts)
        assert order.filled_size == size, order.reject_reason
    for n, symbol in enumerate(symbols):  # move the marks so P&L is not zero
        moved = D(entries[symbol]) * D("0.99")
        exchange.on_market(Trade(symbol, ts, f"m{n}", moved, D(1), "SELL"))

    state = FakeState(now=ts, products=dict(products))
    ledger = exchange.derivatives
    account = ledger.terms(symbols[0]).pool
    state.equity = ledger.equity(account, ts)
    for symbol in symbols:
        view = ledger.position_view(symbol, ts)
        state.hold(symbol, view.size, view.entry_price)
        state.positions[symbol].mark_price = view.mark_price
    overnight = ts != INTRADAY
    for symbol in symbols:
        estimate = estimate_liquidation(state, symbol, overnight=overnight)
        assert estimate is not None
        side = "SELL" if state.positions[symbol].size > 0 else "BUY"  # round against holder
        rounded = products[symbol].quantize_price(estimate, conservative_for=side)
        assert rounded == ledger.liquidation_price(symbol, ts), symbol


def test_liquidation_buffer_estimates_when_the_venue_is_silent(state: FakeState) -> None:
    guard = build_guard("liquidation_buffer")
    state.equity = D(20000)  # 5 BTC long at 100000 on 20000: liquidation near 98462
    state.hold(PERP, "5", "100000")
    result = guard.evaluate(state)
    assert result.severity is BLOCK
    assert "(estimated)" in result.message
    assert "cutting 2.5" in result.message
    assert D("0.015") < result.value < D("0.016")
    state.equity = D(600_000)  # a long this well margined cannot be liquidated
    assert guard.evaluate(state).severity is OK


def test_the_estimate_uses_the_margin_window(state: FakeState) -> None:
    state.hold(BIT, "100", "100000")  # 100 contracts = 1 BTC; overnight mmr 0.125
    state.now = INTRADAY
    intraday = estimate_liquidation(state, BIT, overnight=False)
    overnight = estimate_liquidation(state, BIT, overnight=True)
    assert intraday is not None
    assert overnight is not None
    assert overnight > intraday  # higher maintenance: liquidated sooner


# ---- derivative_leverage ------------------------------------------------------------
def test_derivative_leverage_caps_the_orders_leverage(state: FakeState) -> None:
    state.prices.update({PERP: D(100000), BIT: D(100000)})
    guard = build_guard("derivative_leverage", per_product={PERP: "10", BIT: "50"})
    assert guard.check(deriv_req(PERP, "BUY", "0.01", leverage=D(10)), state).ok
    over = guard.check(deriv_req(PERP, "BUY", "0.01", leverage=D(11)), state)
    assert over.severity is BLOCK
    assert over.message == "order leverage 11 on BTC-PERP exceeds max 10 (per_product)"
    venue = guard.check(deriv_req(BIT, "BUY", "1", leverage=D(11)), state)
    assert venue.severity is BLOCK
    assert "max 10 (product maximum)" in venue.message
    default = guard.check(deriv_req(BIP, "BUY", "1", leverage=D(6)), state)
    assert default.severity is BLOCK
    assert "max 5 (max_leverage)" in default.message
    assert guard.check(req("BTC-USD", "BUY", "100"), state).severity is OK  # spot: not ours


def test_derivative_leverage_values_contracts_with_their_size(state: FakeState) -> None:
    guard = build_guard("derivative_leverage")  # 5 on 10000 equity: 50000 notional
    state.prices[BIT] = D(100000)  # a contract is worth 1000
    assert guard.check(req(BIT, "BUY", "30"), state).severity is OK
    assert guard.check(req(BIT, "BUY", "50"), state).severity is WARN  # at the cap
    over = guard.check(req(BIT, "BUY", "51"), state)
    assert over.severity is BLOCK
    assert over.message == (
        "BTC-FUT leverage after this order 5.10 exceeds max 5 (max_leverage; "
        "notional 51000.00 / equity 10000.00)"
    )
    state.hold(BIT, "40", "100000")
    assert guard.check(req(BIT, "BUY", "11"), state).severity is BLOCK
    state.equity = D(-1)
    assert guard.check(req(BIT, "SELL", "40"), state).ok  # exits always pass
    assert guard.check(deriv_req(BIT, "SELL", "60", reduce_only=True), state).ok
    assert "not positive" in guard.check(req(BIT, "BUY", "1"), state).message
    state.equity = D(10000)
    assert "no price" in guard.check(req(PERP, "BUY", "1"), state).message


# ---- margin_requirement -------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "side", "fits", "window"),
    [
        (OVERNIGHT, "BUY", 36, "at overnight rates (overnight window)"),  # 250 a contract
        (OVERNIGHT, "SELL", 30, "at overnight rates (overnight window)"),  # 300
        (SATURDAY, "BUY", 36, "at overnight rates (weekend window)"),
        (INTRADAY, "BUY", 90, "at intraday rates (intraday window)"),  # 100
        (NEAR_CLOSE, "BUY", 36, "at overnight rates (intraday window ends in 600 s)"),
    ],
)
def test_margin_requirement_uses_the_window_the_position_is_held_in(
    state: FakeState, now: int, side: str, fits: int, window: str
) -> None:
    guard = build_guard("margin_requirement")  # 10000 equity less 10%: 9000
    state.now = now
    state.prices[BIT] = D(100000)
    assert guard.check(req(BIT, side, str(fits)), state).ok
    over = guard.check(req(BIT, side, str(fits + 1)), state)
    assert over.severity is BLOCK
    assert over.message.startswith("initial margin after this order ")
    assert over.message.endswith(
        f"exceeds available 9000.00 (equity 10000.00 less 10.00% headroom) {window}"
    )


def test_margin_requirement_counts_every_position_and_the_orders_leverage(
    state: FakeState,
) -> None:
    guard = build_guard("margin_requirement", headroom="0")
    state.hold(PERP, "1", "100000")  # 5000 at the 0.05 rate
    state.hold(ETH_PERP, "-10", "3000")  # 1500
    state.hold("BTC-USD", "1", "100000")  # spot: no margin
    assert guard.check(req(PERP, "BUY", "0.7"), state).severity is WARN  # 1.7 -> 8500 + 1500
    over = guard.check(req(PERP, "BUY", "0.71"), state)
    assert over.severity is BLOCK
    assert "10050.00 exceeds available 10000.00" in over.message
    assert "rates" not in over.message  # no product with windows involved: none to name
    levered = guard.check(deriv_req(PERP, "BUY", "0.01", leverage=D(2)), state)
    assert levered.severity is BLOCK  # 1.01 BTC at 1/2: 50500
    assert guard.check(req(PERP, "SELL", "1"), state).ok  # exit
    state.prices.clear()
    state.positions[ETH_PERP].mark_price = D(0)
    assert "no price to value ETH-PERP" in guard.check(req(PERP, "BUY", "0.1"), state).message


# ---- through the kernel and the sim exchange ----------------------------------------------
def _kernel(buffer: bool) -> tuple[Kernel, SimExchange, SimClock]:
    products = {PERP: DERIVATIVES[PERP]}
    exchange = SimExchange(
        products,
        {"USDC": D(0)},
        derivatives=DerivativesConfig(
            pools={"PERPETUALS": D("10000")}, taker_fee=D(0), maker_fee=D(0)
        ),
    )
    clock = SimClock(FROZEN_TS)
    guards = []
    if buffer:
        params = {"warn_within": "0.1", "reduce_within": "0.03", "reduce_fraction": "0.5"}
        guards.append(build_guard("liquidation_buffer", build_ctx(products), **params))
    kernel = manual_kernel(
        exchange,
        clock,
        guards=GuardStack(runtime=guards, budget_s=None),
        quote_currency="USDC",
        leverage=D(20),
        margin_type=MarginType.CROSS,
    )
    return kernel, exchange, clock


async def _ride_down(buffer: bool) -> tuple[Kernel, SimExchange, D]:
    """1.8 BTC long at 20x cross on 10000, then the price falls 250 a step to 90000."""
    kernel, exchange, clock = _kernel(buffer)
    await kernel.start()
    await kernel.on_market(Trade(PERP, FROZEN_TS, "t0", D(100000), D(1), "SELL"))
    order = await kernel.submit(kernel._market_request(PERP, Side.BUY, D("1.8"), False, "in"))
    assert order is not None
    assert order.filled_size == D("1.8")
    liquidation = exchange.derivatives.liquidation_price(PERP, kernel.now)
    assert liquidation is not None
    assert liquidation > D(90000)
    # The sim broker hands the venue's figures to the kernel after the fill: no estimate.
    assert kernel.positions[PERP].liquidation_price == liquidation
    price, step = D(100000), 0
    while price > D(90000):
        step += 1
        price -= 250
        clock.advance_to(FROZEN_TS + step * NS)
        await kernel.on_market(Trade(PERP, kernel.now, f"t{step}", price, D(1), "SELL"))
        await kernel.on_timer()
    return kernel, exchange, liquidation


def _liquidations(exchange: SimExchange) -> list[str]:
    fills = exchange.fills(symbol=PERP)
    return [f.trade_id for f in fills if exchange.order(f.client_order_id).tag == LIQUIDATION_TAG]


async def test_without_the_buffer_the_path_ends_in_a_liquidation() -> None:
    kernel, exchange, _ = await _ride_down(buffer=False)
    assert len(_liquidations(exchange)) == 1
    assert kernel.positions[PERP].size == 0


async def test_the_buffer_cuts_the_position_before_the_venue_liquidates_it() -> None:
    kernel, exchange, first_liquidation = await _ride_down(buffer=True)
    assert _liquidations(exchange) == []
    cuts = [o for o in kernel.orders.values() if o.tag == "guard:liquidation_buffer"]
    assert cuts
    assert all(o.reduce_only and o.side is Side.SELL for o in cuts)
    first = exchange.fills(client_order_id=cuts[0].client_order_id)[0]
    assert first.price > first_liquidation  # cut while the venue's price was still ahead
    pos = kernel.positions[PERP]
    assert D(0) < pos.size < D("1.8")
    assert pos.liquidation_distance is not None
    assert pos.liquidation_distance > D("0.03")
    trips = [t for t in kernel.guard_trips if t.result.guard == "liquidation_buffer"]
    assert len(trips) == len(cuts)  # one report per cut, none in between
