"""Derivatives in the sim exchange: margin, leverage, reduce-only, liquidation, funding,
expiry, persistence. Every figure is computed by hand in the comments."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random

import pytest
from gpt_trader.domain import (
    LIQUIDATION_TAG,
    SETTLEMENT_TAG,
    Fill,
    FundingPayment,
    MarginSchedule,
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    ProductType,
    Side,
    TimeInForce,
    Trade,
)
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window, window_end
from gpt_trader.sim import DerivativesConfig, LiquidationFill, Settlement, SimBroker, SimRejected
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import market_profile
from gpt_trader.sim.synthetic import SyntheticFeed
from gpt_trader.testing import derivative_product
from simkit import NS, T0, D

H = 3600 * NS
EXPIRY = 1_738_335_600 * NS  # 2025-01-31T15:00:00Z
# 13:00-20:00 UTC on weekdays: intraday rates for an account that opted in
SCHEDULE = MarginSchedule(intraday_start_s=13 * 3600, intraday_end_s=20 * 3600)
FUT = "BTC-FUT-31JAN25"  # 0.01 BTC a contract, 10 % / 25 % long, 30 % short margin
PERP = "BTC-PERP"  # size in BTC, USDC margin, hourly funding, leverage up to 20
PERP_FUT = "BTC-PFUT"  # a future with hourly funding and no expiry
PRODUCTS = {
    FUT: derivative_product(FUT, terms={"expiry_ts": EXPIRY, "schedule": SCHEDULE}),
    PERP: derivative_product(PERP, "perpetual"),
    PERP_FUT: derivative_product(
        PERP_FUT, terms={"funding_interval_s": 3600, "funding_rate": D("0.000013")}
    ),
}
FUTURES, PERPETUALS = "FUTURES", "PERPETUALS"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_order(self, order: Order) -> None:
        self.events.append(("order", order))

    def on_fill(self, fill: Fill) -> None:
        self.events.append(("fill", fill))

    def on_funding(self, payment: FundingPayment) -> None:
        self.events.append(("funding", payment))

    def on_settlement(self, settlement: Settlement) -> None:
        self.events.append(("settlement", settlement))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def make(
    symbols: list[str], *, futures: str = "0", perps: str = "0", fee: str = "0.001", **kw: object
) -> SimExchange:
    return SimExchange(
        [PRODUCTS[s] for s in symbols],
        {"USD": D("1000"), "USDC": D("1000")},
        derivatives=DerivativesConfig(
            pools={FUTURES: D(futures), PERPETUALS: D(perps)}, maker_fee=D(0), taker_fee=D(fee)
        ),
        **kw,  # type: ignore[arg-type]
    )


def mark(ex: SimExchange, symbol: str, price: str, ts: int) -> None:
    ex.on_trade(Trade(symbol, ts, f"t{ts}", D(price), D(1), "SELL"))


def order(
    cid: str,
    side: str,
    size: str,
    symbol: str = FUT,
    *,
    price: str | None = None,
    leverage: str | None = None,
    reduce_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=Side(side),
        size=D(size),
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        limit_price=None if price is None else D(price),
        time_in_force=TimeInForce.IOC if price is None else TimeInForce.GTC,
        leverage=None if leverage is None else D(leverage),
        reduce_only=reduce_only,
    )


# -- products ---------------------------------------------------------------------------------


def test_products_carry_their_terms_and_walk_like_their_underlying() -> None:
    fut = PRODUCTS[FUT]
    assert fut.derivative is not None
    assert fut.derivative.expiry_ts == EXPIRY
    assert market_profile(fut) == market_profile("BTC-USD")


def test_synthetic_feed_walks_a_future_like_its_underlying() -> None:
    feed = SyntheticFeed({FUT: PRODUCTS[FUT]}, seed=1, interval_s=60, start_ts=T0)
    (bar,) = next(feed.bars([FUT], limit=1))
    assert D(90_000) < bar.close < D(110_000)
    assert bar.close % 5 == 0


def test_margin_windows_follow_the_schedule() -> None:
    wed = T0  # 2025-01-01 was a Wednesday
    assert margin_window(wed + 12 * H, SCHEDULE) is MarginWindow.OVERNIGHT
    assert margin_window(wed + 13 * H, SCHEDULE) is MarginWindow.INTRADAY
    assert margin_window(wed + 20 * H - 1, SCHEDULE) is MarginWindow.INTRADAY
    assert margin_window(wed + 20 * H, SCHEDULE) is MarginWindow.OVERNIGHT
    assert margin_window(wed + 3 * 24 * H, SCHEDULE) is MarginWindow.WEEKEND  # Saturday
    assert window_end(wed, SCHEDULE) == wed + 13 * H
    assert window_end(wed + 14 * H, SCHEDULE) == wed + 20 * H
    friday_night = wed + 2 * 24 * H + 21 * H
    assert window_end(friday_night, SCHEDULE) == wed + 3 * 24 * H  # -> Saturday
    every_day = dataclasses.replace(SCHEDULE, weekdays_only=False)
    assert margin_window(wed + 3 * 24 * H + 14 * H, every_day) is MarginWindow.INTRADAY


# -- a leveraged futures position --------------------------------------------------------------


def test_open_and_close_a_future_with_hand_computed_margin_and_pnl() -> None:
    ex = make([FUT], futures="1500")
    mark(ex, FUT, "100000", T0)
    opened = ex.submit(order("o", "BUY", "4"), T0)
    # 4 contracts * 0.01 BTC * 100000 = 4000 notional; taker fee 0.1 % = 4.00
    assert opened.status is OrderStatus.FILLED
    assert opened.fees == D("4.00")
    d = ex.derivatives
    assert d.cash(FUTURES) == D("1496.00")
    # overnight long rate 0.25: IM 1000; maintenance half of it: 500
    pos = d.position_view(FUT, T0)
    assert (pos.initial_margin, pos.maintenance_margin) == (D("1000"), D("500"))
    assert d.available(FUTURES, T0) == D("496.00")
    assert ex.balance("USD").total == D("1000")  # spot wallet untouched
    assert (pos.size, pos.entry_price, pos.side, pos.leverage) == (D(4), D(100000), "LONG", 4)
    # liquidation: (100000*0.04 - 1496) / (0.04 * (1 - 0.125)) = 71542.857.. -> up to the tick
    assert pos.liquidation_price == D("71545")

    mark(ex, FUT, "110000", T0 + H)
    pos = d.position_view(FUT, T0 + H)
    assert pos.unrealized_pnl == D("400.00")  # (110000 - 100000) * 0.04
    assert pos.initial_margin == D("1100.0000")  # 4400 * 0.25
    assert d.available(FUTURES, T0 + H) == D("796.0000")
    closed = ex.submit(order("c", "SELL", "4", reduce_only=True), T0 + H)
    assert closed.status is OrderStatus.FILLED
    assert closed.fees == D("4.40")
    assert d.cash(FUTURES) == D("1891.60")  # 1496 + 400 - 4.40
    assert d.position_view(FUT, T0 + H).initial_margin == 0
    assert d.pool_hold(FUTURES) == 0
    assert ex.derivatives.positions() == [] == ex.positions()
    pos = ex.derivatives.position(FUT)
    assert (pos.size, pos.realized_pnl, pos.fees) == (0, D("400.00"), D("8.40"))
    assert pos.net_pnl == D("391.60")
    assert d.position_view(FUT, T0 + H).daily_realized_pnl == D("400.00")


def test_leverage_margin_type_reduce_only_and_funds_checks() -> None:
    ex = make([FUT, PERP], futures="1500", perps="1100")
    mark(ex, FUT, "100000", T0)
    mark(ex, PERP, "100000.0", T0)
    # leverage 2 asks for more margin than the product rate: 4000 * 0.5 + 4 = 2004 > 1500
    r = ex.submit(order("lev2", "BUY", "4", leverage="2"), T0)
    assert r.reject_reason == "INSUFFICIENT_MARGIN"
    assert ex.submit(order("lev11", "BUY", "1", leverage="11"), T0).reject_reason == (
        "INVALID_LEVERAGE"
    )
    assert ex.submit(order("lev0", "BUY", "1", leverage="0.5"), T0).reject_reason == (
        "INVALID_LEVERAGE"
    )
    iso = ex.submit(order("iso", "BUY", "1"), T0, margin_type="ISOLATED")
    assert iso.reject_reason == "INVALID_MARGIN_TYPE"  # the future is cross only
    ro = ex.submit(order("ro", "SELL", "1", reduce_only=True), T0)
    assert ro.reject_reason == "REDUCE_ONLY_INCREASES"
    assert ex.submit(order("six", "BUY", "6"), T0).reject_reason == (
        "INSUFFICIENT_MARGIN"  # 6000 * 0.25 + 6 = 1506 > 1500
    )
    assert ex.submit(order("five", "BUY", "5"), T0).status is OrderStatus.FILLED
    flip = ex.submit(order("flip", "SELL", "6", reduce_only=True), T0)
    assert flip.reject_reason == "REDUCE_ONLY_INCREASES"
    # available now: 1500 - 5.00 - 5000 * 0.25 = 245.00; a resting limit holds its margin:
    # 1 more contract at 95000 = 950 * 0.25 + 0.95 fee = 238.45
    rest = ex.submit(order("rest", "BUY", "1", price="95000"), T0)
    assert rest.status is OrderStatus.OPEN
    assert ex.derivatives.order_hold("rest") == D("238.45")
    assert ex.derivatives.available(FUTURES, T0) == D("6.55")
    assert ex.cancel("rest", T0).success
    assert ex.derivatives.order_hold("rest") == 0
    # the perpetual: default leverage 1.0, the full notional: 0.01 BTC = 1000 + 1.00 fee
    assert ex.submit(order("p1", "BUY", "0.01", PERP), T0).status is OrderStatus.FILLED
    assert ex.derivatives.position_view(PERP, T0).initial_margin == D("1000.0000")
    big = ex.submit(order("p2", "BUY", "0.1", PERP, leverage="10"), T0)
    assert big.reject_reason == "INSUFFICIENT_MARGIN"  # 10000/10 + 10 > 1100 - 1 - 1000
    opp = ex.submit(order("p3", "BUY", "0.001", PERP, leverage="10"), T0, margin_type="ISOLATED")
    assert opp.reject_reason == "OPPOSITE_MARGIN_TYPE"


def test_intraday_rates_apply_only_when_opted_in_and_in_the_window() -> None:
    ex = make([FUT], futures="5000")
    noon = T0 + 14 * H  # Wednesday 14:00 UTC: intraday window
    mark(ex, FUT, "100000", noon)
    ex.submit(order("o", "BUY", "4"), noon)
    d = ex.derivatives
    assert d.position_view(FUT, noon).initial_margin == D("1000")  # standard: 0.25
    d.set_intraday_margin(True, noon)
    view = d.position_view(FUT, noon)
    assert (margin_window(noon, SCHEDULE), view.initial_margin, view.maintenance_margin) == (
        MarginWindow.INTRADAY,
        D("400.00"),
        D("200.000"),
    )
    terms = PRODUCTS[FUT].derivative
    assert terms is not None
    assert (
        d.measure(FUT, noon, terms.intraday).initial_margin,
        d.measure(FUT, noon, terms.overnight).initial_margin,
    ) == (D("400.00"), D("1000"))
    evening = T0 + 21 * H
    ex.advance(evening)
    assert d.position_view(FUT, evening).initial_margin == D("1000")


# -- funding -----------------------------------------------------------------------------------


def test_perpetual_held_across_funding_times_pays_to_the_cent() -> None:
    ex = make([PERP], perps="10000", fee="0.0005")
    rec = Recorder()
    ex.add_listener(rec)
    start = ex.derivatives.cash(PERPETUALS)
    mark(ex, PERP, "100000.0", T0 + 10 * H)
    buy = ex.submit(order("b", "BUY", "0.1", PERP, leverage="5"), T0 + 10 * H + 30 * 60 * NS)
    assert buy.fees == D("5.00")  # 10000 * 0.0005
    assert ex.derivatives.position_view(PERP, T0 + 10 * H).initial_margin == D("2000.00")
    mark(ex, PERP, "101000.0", T0 + 10 * H + 45 * 60 * NS)
    ex.advance(T0 + 11 * H)  # -(0.1 * 101000 * 0.00001) = -0.101 -> -0.10
    mark(ex, PERP, "99000.0", T0 + 11 * H + 30 * 60 * NS)
    ex.advance(T0 + 12 * H)  # -(0.1 * 99000 * 0.00001) = -0.099 -> -0.10
    ex.derivatives.set_funding_rate(PERP, D("-0.0002"))
    mark(ex, PERP, "99500.0", T0 + 12 * H + 30 * 60 * NS)
    ex.advance(T0 + 13 * H)  # -(0.1 * 99500 * -0.0002) = +1.99
    mark(ex, PERP, "100500.0", T0 + 13 * H + 30 * 60 * NS)
    sell = ex.submit(order("s", "SELL", "0.1", PERP, reduce_only=True), T0 + 13 * H + 45 * 60 * NS)
    assert sell.fees == D("5.03")  # 10050 * 0.0005 = 5.025, rounded up (never undercharged)
    ex.advance(T0 + 16 * H)  # flat: no more funding

    payments = ex.derivatives.funding_payments()
    assert [(p.ts, p.mark_price, p.amount) for p in payments] == [
        (T0 + 11 * H, D("101000.0"), D("-0.10")),
        (T0 + 12 * H, D("99000.0"), D("-0.10")),
        (T0 + 13 * H, D("99500.0"), D("1.99")),
    ]
    assert [p.payment_id for p in payments] == [
        "sim-funding-BTC-PERP-1",
        "sim-funding-BTC-PERP-2",
        "sim-funding-BTC-PERP-3",
    ]
    assert [e for k, e in rec.events if k == "funding"] == payments
    pos = ex.derivatives.position(PERP)
    realized = (D("100500") - D("100000")) * D("0.1")  # 50
    funding = D("-0.10") + D("-0.10") + D("1.99")
    fees = D("5.00") + D("5.03")
    assert (pos.realized_pnl, pos.funding, pos.fees) == (realized, funding, fees)
    assert pos.net_pnl == D("41.76")  # 50 + 1.79 - 10.03
    assert ex.derivatives.cash(PERPETUALS) - start == realized + funding - fees == D("41.76")


def test_pools_stay_on_the_cent_through_fees_funding_pnl_and_isolated_margin() -> None:
    # fee rate 0.00055 and prices on a 0.1 / 5 tick: no fee, average entry, realised P&L
    # or funding payment lands on the cent by itself
    ex = make([FUT, PERP], futures="50000", perps="50000", fee="0.00055")
    rng = random.Random(3)
    price = {FUT: 100_000.0, PERP: 100_000.0}
    ts = T0 + 10 * H
    for n in range(240):
        ts += 3 * 60 * NS  # 12 hours: funding every hour on PERP
        symbol = (FUT, PERP)[n % 2]
        product = ex.product(symbol)
        assert product is not None
        price[symbol] *= rng.uniform(0.998, 1.002)
        mark(ex, symbol, str(product.quantize_price(D(repr(price[symbol])))), ts)
        size = str(rng.randint(1, 9)) if symbol == FUT else str(D(rng.randint(1, 300)) / 10_000)
        side = rng.choice(["BUY", "SELL"])
        mtype = "ISOLATED" if symbol == PERP else None
        ex.submit(order(f"o{n}", side, size, symbol, leverage="5"), ts, margin_type=mtype)
    fills = ex.fills()
    assert len(fills) >= 200
    assert len(ex.derivatives.funding_payments()) >= 10
    assert ex.derivatives.position(PERP).realized_pnl != 0
    for account in (FUTURES, PERPETUALS):
        pool = ex.derivatives.cash(account)
        isolated = ex.derivatives.isolated_margin(account)
        for amount in (pool, isolated, ex.derivatives.withdrawable(account, ts)):
            assert amount == amount.quantize(D("0.01")), (account, amount)
    for f in fills:
        assert f.fee == f.fee.quantize(D("0.01"))
    for p in ex.derivatives.funding_payments():
        assert p.amount == p.amount.quantize(D("0.01"))


# -- liquidation -------------------------------------------------------------------------------


def test_mark_through_the_liquidation_price_closes_the_position_there() -> None:
    ex = make([FUT], futures="1500")
    rec = Recorder()
    ex.add_listener(rec)
    mark(ex, FUT, "100000", T0)
    ex.submit(order("o", "BUY", "4"), T0)
    liq_price = ex.derivatives.liquidation_price(FUT, T0)
    assert liq_price == D("71545")
    for i, px in enumerate(["90000", "80000", "72000"], start=1):
        mark(ex, FUT, px, T0 + i * H)
        assert ex.derivatives.position(FUT).size == 4
    rec.events.clear()
    mark(ex, FUT, "71000", T0 + 4 * H)
    assert rec.kinds() == ["fill", "order"]
    fill = rec.events[0][1]
    assert isinstance(fill, LiquidationFill)
    assert (fill.is_liquidation, fill.order_type, fill.side, fill.size, fill.price) == (
        True,
        "LIQUIDATION",
        Side.SELL,
        D(4),
        D("71545"),
    )
    assert fill.trade_id.startswith("sim-BTC-FUT-31JAN25-")
    assert fill.fee == D("2.87")  # 4 * 0.01 * 71545 * 0.001 = 2.8618, rounded up
    liq_order = rec.events[1][1]
    assert isinstance(liq_order, Order)
    assert (liq_order.status, liq_order.tag, liq_order.reduce_only) == (
        OrderStatus.FILLED,
        LIQUIDATION_TAG,
        True,
    )
    assert ex.order(liq_order.client_order_id) is not None
    assert ex.derivatives.position(FUT).size == 0
    # 1496 + (71545 - 100000) * 0.04 - 2.87 = 354.93
    assert ex.derivatives.cash(FUTURES) == D("354.93")
    assert ex.fills(symbol=FUT)[-1] == fill


def test_isolated_perp_liquidation_price_and_allocation() -> None:
    ex = make([PERP], perps="5000", fee="0")
    mark(ex, PERP, "100000.0", T0)
    ex.submit(order("i", "BUY", "0.1", PERP, leverage="10"), T0, margin_type="ISOLATED")
    view = ex.derivatives.position_view(PERP, T0)
    assert (view.margin_type, view.isolated_margin) == (MarginType.ISOLATED, D("1000.00"))
    assert ex.derivatives.cash(PERPETUALS) == D("4000.00")
    # (10000 - 1000) / (0.1 * (1 - 0.025)) = 92307.69.. -> 92307.7
    assert view.liquidation_price == D("92307.7")
    ex.allocate(PERP, D("500"), T0)
    assert ex.derivatives.liquidation_price(PERP, T0) == D("87179.5")  # 8500 / 0.0975
    with pytest.raises(ValueError, match="cannot allocate"):
        ex.allocate(PERP, D("100000"), T0)
    mark(ex, PERP, "87100.0", T0 + H // 2)  # before the first funding time
    assert ex.derivatives.position(PERP).size == 0
    # margin 1500 + (87179.5 - 100000) * 0.1 = 217.95 back to the pool
    assert ex.derivatives.cash(PERPETUALS) == D("3500.00") + D("217.95")


# -- expiry ------------------------------------------------------------------------------------


def test_expiry_settles_the_position_and_stops_trading() -> None:
    ex = make([FUT], futures="5000")
    rec = Recorder()
    ex.add_listener(rec)
    mark(ex, FUT, "100000", T0)
    ex.submit(order("o", "BUY", "2"), T0)
    resting = ex.submit(order("r", "BUY", "1", price="90000"), T0)
    assert resting.status is OrderStatus.OPEN
    ex.derivatives.set_settlement_price(FUT, D("105000"))
    expiry = EXPIRY
    ex.advance(expiry + NS)
    assert ex.order("r").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    (settlement,) = ex.derivatives.settlements()
    assert (settlement.ts, settlement.price, settlement.size, settlement.realized_pnl) == (
        expiry,
        D("105000"),
        D(2),
        D("100.00"),  # (105000 - 100000) * 2 * 0.01
    )
    assert rec.kinds()[-1] == "settlement"
    settle_fill = ex.fills(symbol=FUT)[-1]
    assert (settle_fill.trade_id, settle_fill.fee, settle_fill.price) == (
        settlement.trade_id,
        0,
        D("105000"),
    )
    assert ex.order(settle_fill.client_order_id).tag == SETTLEMENT_TAG  # type: ignore[union-attr]
    assert ex.derivatives.position(FUT).size == 0
    assert ex.derivatives.cash(FUTURES) == D("5000") - D("2.00") + D("100.00")
    late = ex.submit(order("late", "BUY", "1"), expiry + 2 * NS)
    assert late.reject_reason == "PRODUCT_NOT_TRADING"


# -- sweeps, persistence, broker -----------------------------------------------------------------


def test_state_round_trip_keeps_positions_margin_and_records() -> None:
    ex = make([FUT, PERP], futures="1500", perps="10000")
    mark(ex, FUT, "100000", T0)
    mark(ex, PERP, "100000.0", T0)
    ex.submit(order("o", "BUY", "4"), T0)
    ex.submit(order("p", "SELL", "0.1", PERP, leverage="5"), T0, margin_type="ISOLATED")
    ex.advance(T0 + 2 * H)
    mark(ex, FUT, "71000", T0 + 3 * H)  # liquidated
    state = json.loads(json.dumps(ex.to_state()))
    again = make([FUT, PERP])
    again.load_state(state)
    assert again.to_state() == state
    assert again.derivatives.open_positions(T0 + 3 * H) == ex.derivatives.open_positions(T0 + 3 * H)
    assert again.derivatives.cash(PERPETUALS) == ex.derivatives.cash(PERPETUALS)
    assert isinstance(again.fills(symbol=FUT)[-1], LiquidationFill)
    assert len(again.derivatives.funding_payments()) == 3  # 01:00, 02:00, 03:00
    assert again.positions() == ex.positions()


def test_sim_broker_relays_funding_and_settlement() -> None:
    ex = SimExchange(
        [PRODUCTS[PERP_FUT]], {}, derivatives=DerivativesConfig(pools={FUTURES: D(10_000)})
    )
    broker = SimBroker(ex)
    rec = Recorder()
    mark(ex, PERP_FUT, "100000", T0)
    ex.submit(order("b", "BUY", "1", PERP_FUT), T0)

    async def run() -> None:
        await broker.start(rec)
        ex.advance(T0 + H)
        await broker.stop()

    asyncio.run(run())
    assert rec.kinds() == ["order", "fill", "order", "funding"]
    payment = rec.events[-1][1]
    assert isinstance(payment, FundingPayment)
    assert payment.amount == D("-0.01")  # -(1 * 0.01 * 100000 * 0.000013) = -0.013
    (pos,) = asyncio.run(broker.positions())
    assert (pos.size, pos.contract_size, pos.funding) == (1, D("0.01"), D("-0.01"))


def test_same_seed_same_everything() -> None:
    def run() -> dict[str, object]:
        ex = make([FUT, PERP], futures="2000", perps="2000", seed=3)
        mark(ex, FUT, "100000", T0)
        mark(ex, PERP, "100000.0", T0)
        ex.submit(order("o", "BUY", "5"), T0)
        ex.submit(order("p", "BUY", "0.05", PERP, leverage="20"), T0)
        for i, px in enumerate(["98000", "96000", "70000"], start=1):
            mark(ex, FUT, px, T0 + i * H)
            mark(ex, PERP, px + ".0", T0 + i * H)
        return ex.to_state()

    assert run() == run()


def test_editing_a_futures_order_re_holds_its_margin() -> None:
    ex = make([FUT], futures="1000")
    mark(ex, FUT, "100000", T0)
    ex.submit(order("r", "BUY", "2", price="90000"), T0)
    assert ex.derivatives.order_hold("r") == D("451.80")  # 1800 * 0.25 + 1.80
    ex.edit("r", T0, price=D("95000"))
    assert ex.derivatives.order_hold("r") == D("476.90")  # 1900 * 0.25 + 1.90
    with pytest.raises(SimRejected) as err:
        ex.edit("r", T0, size=D("5"))  # 4750 * 0.25 + 4.75 > 1000
    assert err.value.reason == "EDIT_INSUFFICIENT_FUNDS"
    ex.edit("r", T0, price=D("100000"))  # now crosses the touch: fills
    assert ex.derivatives.position(FUT).size == 2
    assert ex.derivatives.order_hold("r") == 0


def test_a_future_without_terms_gets_default_terms() -> None:
    product = Product(
        "XYZ-FUT",
        "XYZ",
        "USD",
        D(1),
        D("0.5"),
        D(1),
        D(100),
        product_type=ProductType.FUTURE,
        contract_size=D(10),
    )
    ex = SimExchange([product], {}, derivatives=DerivativesConfig(pools={FUTURES: D(1000)}))
    mark(ex, "XYZ-FUT", "20", T0)
    assert ex.submit(order("x", "BUY", "3", "XYZ-FUT"), T0).status is OrderStatus.FILLED
    view = ex.derivatives.position_view("XYZ-FUT", T0)
    assert (view.notional, view.initial_margin, view.expiry_ts) == (D(600), D("150.00"), None)
