"""MatchingEngine behaviour: priority, order types, TIFs, validation, fees, the fill models."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from gpt_trader.domain import (
    BookUpdate,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
)
from gpt_trader.domain.money import CENT, quantize
from gpt_trader.sim.matching import DEFAULT_NAMESPACE, MatchingEngine, Update
from gpt_trader.sim.products import default_products
from gpt_trader.sim.reasons import SimRejected
from simkit import BTC, NS, T0, D, bar, engine, req, trade


def statuses(ups: list[Update]) -> list[str]:
    return [u.order.status.value for u in ups]


def fills(ups: list[Update]) -> list[tuple[str, Decimal, Decimal, Liquidity]]:
    return [
        (u.fill.client_order_id, u.fill.price, u.fill.size, u.fill.liquidity)
        for u in ups
        if u.fill is not None
    ]


def asks(*levels: tuple[str, str], snapshot: bool = True) -> BookUpdate:
    return BookUpdate("BTC-USD", T0, (), tuple((D(p), D(s)) for p, s in levels), snapshot)


# ---------------------------------------------------------------- market orders, immediate


def test_market_buy_fills_at_last_price_with_taker_fee_and_reports_each_step() -> None:
    eng = engine()
    ups = eng.submit(req("m1", "BUY", "0.5"), T0)
    assert statuses(ups) == ["OPEN", "FILLED"]
    fill = ups[1].fill
    assert fill is not None
    assert (fill.price, fill.size, fill.liquidity) == (D("100.00"), D("0.5"), Liquidity.TAKER)
    assert fill.fee == D("0.30")  # 100 * 0.5 * 0.006
    assert fill.trade_id == "sim-BTC-USD-1"
    order = eng.order("m1")
    assert order is not None
    assert order.filled_size == D("0.5")
    assert order.avg_fill_price == D("100.00")
    assert order.order_id == str(uuid.uuid5(DEFAULT_NAMESPACE, "m1"))
    assert order.trade_ids == ("sim-BTC-USD-1",)


def test_slippage_worsens_the_implied_price_on_the_tick_grid() -> None:
    eng = engine(slippage_bps=D(25))
    buy = eng.submit(req("b", "BUY", "1"), T0)[-1].fill
    sell = eng.submit(req("s", "SELL", "1"), T0)[-1].fill
    assert buy is not None
    assert sell is not None
    assert buy.price == D("100.25")
    assert sell.price == D("99.75")


def test_market_order_walks_synthetic_levels_and_cancels_what_the_book_cannot_fill() -> None:
    eng = engine()
    eng.apply_book(asks(("100.10", "0.3"), ("100.20", "0.5")))
    ups = eng.submit(req("m1", "BUY", "0.6"), T0)
    assert fills(ups) == [
        ("m1", D("100.10"), D("0.3"), Liquidity.TAKER),
        ("m1", D("100.20"), D("0.3"), Liquidity.TAKER),
    ]
    order = eng.order("m1")
    assert order is not None
    assert order.avg_fill_price == D("100.15")  # (30.03 + 30.06) / 0.6
    # the level at 100.20 has 0.2 left: a buy of 1 gets 0.2 and the rest is cancelled
    ups = eng.submit(req("m2", "BUY", "1"), T0)
    assert statuses(ups) == ["OPEN", "PARTIALLY_FILLED", "CANCELLED"]
    assert fills(ups) == [("m2", D("100.20"), D("0.2"), Liquidity.TAKER)]


def test_market_order_without_any_price_is_rejected_no_liquidity() -> None:
    eng = MatchingEngine(BTC)
    ups = eng.submit(req("m", "BUY", "1"), T0)
    assert statuses(ups) == ["REJECTED"]
    assert ups[0].order.reject_reason == "NO_LIQUIDITY"


# ---------------------------------------------------------------- price-time priority


def test_incoming_order_takes_best_price_first_then_earliest_at_one_price() -> None:
    eng = engine(market_fill="next_open")  # no implied touch: only the book's orders
    for cid, price in (("a", "101.00"), ("b", "101.00"), ("c", "100.50")):
        assert statuses(eng.submit(req(cid, "SELL", "1", price), T0)) == ["OPEN"]
    ups = eng.submit(req("taker", "BUY", "2.5", "101.00"), T0)
    assert fills(ups) == [
        ("taker", D("100.50"), D("1"), Liquidity.TAKER),
        ("c", D("100.50"), D("1"), Liquidity.MAKER),
        ("taker", D("101.00"), D("1"), Liquidity.TAKER),
        ("a", D("101.00"), D("1"), Liquidity.MAKER),
        ("taker", D("101.00"), D("0.5"), Liquidity.TAKER),
        ("b", D("101.00"), D("0.5"), Liquidity.MAKER),
    ]
    b = eng.order("b")
    assert b is not None
    assert b.status is OrderStatus.PARTIALLY_FILLED
    assert [o.client_order_id for o in eng.open_orders()] == ["b"]
    # every fill has its own trade id, even the two sides of one match
    trade_ids = [u.fill.trade_id for u in ups if u.fill is not None]
    assert len(set(trade_ids)) == 6


def test_trade_prints_fill_resting_orders_in_price_time_priority() -> None:
    eng = engine()
    for cid, price in (("a", "99.00"), ("b", "99.00"), ("c", "98.00")):
        eng.submit(req(cid, "BUY", "1", price), T0)
    ups = eng.on_trade(trade("97.00", "1.5", "SELL", ts=T0 + NS))
    assert fills(ups) == [
        ("a", D("99.00"), D("1"), Liquidity.MAKER),
        ("b", D("99.00"), D("0.5"), Liquidity.MAKER),
    ]


# ---------------------------------------------------------------- time in force


def test_ioc_limit_fills_what_it_can_and_cancels_the_rest() -> None:
    eng = engine()
    eng.apply_book(asks(("100.10", "0.3"), ("100.30", "5")))
    ups = eng.submit(req("ioc", "BUY", "1", "100.10", tif=TimeInForce.IOC), T0)
    assert statuses(ups) == ["OPEN", "PARTIALLY_FILLED", "CANCELLED"]
    order = eng.order("ioc")
    assert order is not None
    assert order.filled_size == D("0.3")
    assert eng.open_orders() == []


def test_fok_is_all_or_nothing() -> None:
    eng = engine()
    eng.apply_book(asks(("100.10", "0.3"), ("100.30", "5")))
    ups = eng.submit(req("fok1", "BUY", "1", "100.10", tif=TimeInForce.FOK), T0)
    assert statuses(ups) == ["OPEN", "CANCELLED"]
    order = eng.order("fok1")
    assert order is not None
    assert order.filled_size == 0
    assert order.trade_ids == ()
    ups = eng.submit(req("fok2", "BUY", "1", "100.30", tif=TimeInForce.FOK), T0)
    assert statuses(ups) == ["OPEN", "PARTIALLY_FILLED", "FILLED"]
    assert sum(f[2] for f in fills(ups)) == D("1")


def test_gtc_rests_until_cancelled() -> None:
    eng = engine()
    assert statuses(eng.submit(req("g", "BUY", "1", "90.00"), T0)) == ["OPEN"]
    eng.on_bar(bar("100", "101", "95", "100", n=5))
    assert [o.client_order_id for o in eng.open_orders()] == ["g"]


def test_gtd_expires_at_end_time_by_expire_and_by_bar_time() -> None:
    eng = engine()
    end = T0 + 120 * NS
    eng.submit(req("gtd", "BUY", "1", "90.00", tif=TimeInForce.GTD, end_ts=end), T0)
    assert eng.expire(T0 + 60 * NS) == []
    ups = eng.expire(end)
    assert statuses(ups) == ["EXPIRED"]
    # by bar time: a GTD order ending before a bar's open expires before that bar can fill it
    eng.submit(req("gtd2", "BUY", "1", "99.00", tif=TimeInForce.GTD, end_ts=end), T0)
    ups = eng.on_bar(bar("100", "100", "50", "60", n=2))  # bar opens at T0 + 120 s
    assert statuses(ups) == ["EXPIRED"]
    assert fills(ups) == []


def test_gtd_needs_a_future_end_time() -> None:
    eng = engine()
    ups = eng.submit(req("x", "BUY", "1", "90.00", tif=TimeInForce.GTD), T0)
    assert ups[0].order.reject_reason == "GTD_NEEDS_END_TIME"
    ups = eng.submit(req("y", "BUY", "1", "90.00", tif=TimeInForce.GTD, end_ts=T0), T0)
    assert ups[0].order.reject_reason == "END_TIME_IN_PAST"


# ---------------------------------------------------------------- post-only and validation


def test_post_only_that_would_cross_is_rejected_and_one_that_would_not_rests() -> None:
    eng = engine()
    ups = eng.submit(req("po1", "BUY", "1", "100.00", post_only=True), T0)
    assert statuses(ups) == ["REJECTED"]
    assert ups[0].order.reject_reason == "POST_ONLY_WOULD_CROSS"
    ups = eng.submit(req("po2", "BUY", "1", "99.99", post_only=True), T0)
    assert statuses(ups) == ["OPEN"]
    # against a real book too
    eng.apply_book(asks(("99.50", "1")))
    ups = eng.submit(req("po3", "BUY", "1", "99.50", post_only=True), T0)
    assert ups[0].order.reject_reason == "POST_ONLY_WOULD_CROSS"


@pytest.mark.parametrize(
    ("size", "price", "kind", "reason"),
    [
        ("0.000000001", "90.00", OrderType.LIMIT, "SIZE_TOO_SMALL"),
        ("0", "90.00", OrderType.LIMIT, "SIZE_TOO_SMALL"),
        ("3401", "90.00", OrderType.LIMIT, "SIZE_TOO_LARGE"),
        ("0.123456789", "90.00", OrderType.LIMIT, "INVALID_SIZE_PRECISION"),
        ("1", "90.001", OrderType.LIMIT, "INVALID_PRICE_PRECISION"),
        ("1", "-1", OrderType.LIMIT, "INVALID_LIMIT_PRICE"),
        ("1", None, OrderType.LIMIT, "INVALID_LIMIT_PRICE"),
    ],
)
def test_invalid_requests_are_rejected_with_coinbase_reasons(
    size: str, price: str | None, kind: OrderType, reason: str
) -> None:
    eng = engine()
    ups = eng.submit(req("bad", "BUY", size, price, kind=kind), T0)
    assert statuses(ups) == ["REJECTED"]
    assert ups[0].order.reject_reason == reason
    assert eng.open_orders() == []


def test_reused_client_order_id_returns_the_original_and_creates_nothing() -> None:
    eng = engine()
    first = eng.submit(req("dup", "BUY", "1", "90.00"), T0)
    assert statuses(first) == ["OPEN"]
    assert eng.submit(req("dup", "SELL", "2", "120.00"), T0 + NS) == []
    order = eng.order("dup")
    assert order is not None
    assert (order.side, order.size, order.limit_price) == (Side.BUY, D("1"), D("90.00"))
    assert len(eng.orders()) == 1


# ---------------------------------------------------------------- fees


def test_fee_is_price_times_size_times_rate_rounded_up_to_the_cent() -> None:
    eng = MatchingEngine(BTC)
    eng.submit(req("big", "BUY", "0.12345678", "100000.00"), T0)
    eng.submit(req("half", "BUY", "1", "31.25"), T0)
    eng.submit(req("even", "BUY", "1", "30.00"), T0)
    ups = eng.on_trade(trade("29.00", "10", "SELL", ts=T0 + NS))
    by_cid = {u.fill.client_order_id: u.fill for u in ups if u.fill is not None}
    # maker 0.004: 12345.678 * 0.004 = 49.382712 -> 49.39 (a venue never undercharges)
    assert by_cid["big"].fee == D("49.39")
    # 31.25 * 0.004 = 0.125 -> 0.13
    assert by_cid["half"].fee == D("0.13")
    # 30.00 * 0.004 = 0.12 exactly: nothing to round
    assert by_cid["even"].fee == D("0.12")
    taker = MatchingEngine(BTC, taker_fee=D("0.006"))
    taker.on_trade(trade("100000.00", "1", ts=T0))
    fill = taker.submit(req("t", "BUY", "0.12345678"), T0)[-1].fill
    assert fill is not None
    assert fill.fee == D("74.08")  # 12345.678 * 0.006 = 74.074068


def test_fees_of_a_sub_cent_priced_product_are_still_cents() -> None:
    xrp = default_products(["XRP-USD"])["XRP-USD"]  # price and quote increment 0.0001
    eng = MatchingEngine(xrp, taker_fee=D("0.006"))
    eng.on_trade(trade("2.1234", "1000", ts=T0, symbol="XRP-USD"))
    fill = eng.submit(req("x", "BUY", "3.141592", symbol="XRP-USD"), T0)[-1].fill
    assert fill is not None
    # 3.141592 * 2.1234 * 0.006 = 0.04002... -> 0.05 (cents, not the 0.0001 price grid)
    assert fill.fee == D("0.05")


def _quote_book() -> MatchingEngine:
    eng = MatchingEngine(BTC, taker_fee=D("0.006"))
    eng.apply_book(asks(("100000.00", "0.0004"), ("100010.37", "5")))
    return eng


def _spent(eng: MatchingEngine, size: Decimal) -> tuple[Decimal, int]:
    fills = [u.fill for u in eng.submit(req(f"q{size}", "BUY", str(size)), T0) if u.fill]
    value = quantize(sum((f.notional for f in fills), D(0)), CENT)  # the order's, rounded once
    return value + sum((f.fee for f in fills), D(0)), len(fills)


def test_size_for_quote_buys_what_the_quote_less_fees_pays_for() -> None:
    size = _quote_book().size_for_quote(Side.BUY, D("100"))
    assert size == D("0.00099398")  # 0.0004 at 100000.00, then 0.00059398 at 100010.37
    spent, fills = _spent(_quote_book(), size)
    assert fills == 2  # across two levels
    assert spent == D("100.00")  # 40.00 + 59.40416 -> 99.40, fees 0.24 + 0.36
    assert _spent(_quote_book(), size + BTC.base_increment)[0] > D("100")
    assert _quote_book().size_for_quote(Side.BUY, D("0.001")) == 0
    # a sell gets the size whose value (before its fee) is at most the quote
    eng = MatchingEngine(BTC)
    eng.apply_book(BookUpdate("BTC-USD", T0, ((D("50000.00"), D("1")),), (), True))
    assert eng.size_for_quote(Side.SELL, D("100")) == D("0.0020001")  # 100.005 settles as 100.00


# ---------------------------------------------------------------- bar fill model


def test_resting_limit_fills_at_its_price_only_when_the_bar_trades_through() -> None:
    eng = engine(market_fill="next_open")
    eng.submit(req("b", "BUY", "1", "99.00"), T0)
    assert eng.on_bar(bar("100", "101", "99.00", "100", n=0)) == []  # a touch is not a fill
    ups = eng.on_bar(bar("100", "101", "98.50", "100", n=1))
    assert fills(ups) == [("b", D("99.00"), D("1"), Liquidity.MAKER)]
    fill = ups[0].fill
    assert fill is not None
    assert fill.ts == T0 + 2 * 60 * NS  # inside the bar: stamped with its close
    assert fill.fee == D("0.40")  # 99 * 0.004 = 0.396


def test_limit_already_through_at_the_open_fills_at_the_open_as_taker() -> None:
    eng = engine(market_fill="next_open")
    eng.submit(req("b", "BUY", "1", "101.00"), T0)
    ups = eng.on_bar(bar("100.00", "100.50", "99.50", "100", n=0))
    assert fills(ups) == [("b", D("100.00"), D("1"), Liquidity.TAKER)]
    fill = ups[0].fill
    assert fill is not None
    assert fill.ts == T0


def test_volume_participation_caps_bar_fills_and_leaves_partial_fills() -> None:
    eng = engine(market_fill="next_open", volume_participation=D("0.1"))
    eng.submit(req("b", "BUY", "5", "99.00"), T0)
    ups = eng.on_bar(bar("100", "100", "98", "99", v="20", n=0))
    assert fills(ups) == [("b", D("99.00"), D("2.0"), Liquidity.MAKER)]
    assert ups[0].order.status is OrderStatus.PARTIALLY_FILLED
    ups = eng.on_bar(bar("100", "100", "98", "99", v="50", n=1))
    assert fills(ups) == [("b", D("99.00"), D("3.0"), Liquidity.MAKER)]
    assert ups[0].order.status is OrderStatus.FILLED


def test_next_open_market_order_waits_for_the_first_bar_opening_after_it() -> None:
    eng = engine(market_fill="next_open")
    placed = T0 + 60 * NS  # at the close of bar 0
    ups = eng.submit(req("m", "BUY", "1"), placed)
    assert statuses(ups) == ["OPEN"]
    assert eng.on_bar(bar("100", "102", "99", "101", n=0)) == []  # opened before the order
    ups = eng.on_bar(bar("101.00", "103", "100", "102", n=1))
    assert fills(ups) == [("m", D("101.00"), D("1"), Liquidity.TAKER)]
    fill = ups[0].fill
    assert fill is not None
    assert fill.ts == placed


def test_next_open_ioc_and_fok_limits_are_decided_at_the_open() -> None:
    eng = engine(market_fill="next_open", volume_participation=D("0.1"))
    eng.submit(req("ioc_away", "BUY", "1", "100.50", tif=TimeInForce.IOC), T0)
    eng.submit(req("ioc", "BUY", "3", "101.00", tif=TimeInForce.IOC), T0)
    eng.submit(req("fok", "SELL", "3", "100.00", tif=TimeInForce.FOK), T0)
    ups = eng.on_bar(bar("101.00", "102", "100", "101", v="20", n=0))
    final = {o.client_order_id: o for o in eng.orders()}
    assert final["ioc_away"].status is OrderStatus.CANCELLED
    assert final["ioc_away"].filled_size == 0
    assert final["ioc"].status is OrderStatus.CANCELLED
    assert final["ioc"].filled_size == D("2.0")  # 10 % of 20
    assert final["fok"].status is OrderStatus.CANCELLED  # 3 > cap of 2: nothing
    assert final["fok"].filled_size == 0
    assert fills(ups) == [("ioc", D("101.00"), D("2.0"), Liquidity.TAKER)]


# ---------------------------------------------------------------- trades


def test_trade_fills_resting_orders_up_to_its_size_strictly_through_the_price() -> None:
    eng = engine()
    eng.submit(req("b", "BUY", "1", "99.50"), T0)
    ups = eng.on_trade(trade("99.40", "0.3", "SELL", ts=T0 + NS))
    assert fills(ups) == [("b", D("99.50"), D("0.3"), Liquidity.MAKER)]
    assert eng.on_trade(trade("99.00", "5", "BUY", ts=T0 + 2 * NS)) == []  # buyer took asks
    assert eng.on_trade(trade("99.50", "5", "SELL", ts=T0 + 3 * NS)) == []  # a touch
    ups = eng.on_trade(trade("99.49", "5", "SELL", ts=T0 + 4 * NS))
    assert fills(ups) == [("b", D("99.50"), D("0.7"), Liquidity.MAKER)]
    assert ups[-1].order.status is OrderStatus.FILLED


# ---------------------------------------------------------------- stop-limit


def test_stop_limit_triggers_when_a_trade_crosses_the_stop() -> None:
    eng = engine()
    stop = req("stop", "SELL", "1", "94.50", kind=OrderType.STOP_LIMIT, stop_price=D("95.00"))
    assert statuses(eng.submit(stop, T0)) == ["OPEN"]
    assert eng.on_trade(trade("96.00", "1", ts=T0 + NS)) == []
    ups = eng.on_trade(trade("95.00", "1", ts=T0 + 2 * NS))
    assert fills(ups) == [("stop", D("95.00"), D("1"), Liquidity.TAKER)]
    fill = ups[0].fill
    assert fill is not None
    assert fill.fee == D("0.57")


def test_stop_on_the_wrong_side_of_the_last_price_is_rejected() -> None:
    eng = engine()
    ups = eng.submit(
        req("s", "BUY", "1", "99.50", kind=OrderType.STOP_LIMIT, stop_price=D("99.00")), T0
    )
    assert ups[0].order.reject_reason == "STOP_BELOW_LAST"


def test_stop_limit_triggers_on_a_bar_range_and_rests_when_gapped_past_its_limit() -> None:
    eng = engine(market_fill="next_open")
    eng.submit(
        req("s1", "BUY", "1", "103.00", kind=OrderType.STOP_LIMIT, stop_price=D("102.00")), T0
    )
    eng.submit(
        req("s2", "BUY", "1", "105.50", kind=OrderType.STOP_LIMIT, stop_price=D("105.00")), T0
    )
    ups = eng.on_bar(bar("100", "102.50", "99.50", "102", n=0))
    assert fills(ups) == [("s1", D("102.00"), D("1"), Liquidity.TAKER)]
    ups = eng.on_bar(bar("106.00", "107", "105.80", "106", n=1))  # gaps over s2's limit
    assert fills(ups) == []
    s2 = eng.order("s2")
    assert s2 is not None
    assert s2.status is OrderStatus.OPEN
    ups = eng.on_bar(bar("106", "106", "105.00", "105.2", n=2))
    assert fills(ups) == [("s2", D("105.50"), D("1"), Liquidity.MAKER)]


def test_ticker_triggers_stops_and_sets_the_touch() -> None:
    eng = engine()
    eng.submit(
        req("s", "BUY", "1", "101.00", kind=OrderType.STOP_LIMIT, stop_price=D("100.50")), T0
    )
    ups = eng.on_ticker(Ticker("BTC-USD", T0 + NS, D("100.60"), D("100.55"), D("100.65")))
    assert fills(ups) == [("s", D("100.65"), D("1"), Liquidity.TAKER)]  # bought at the ask
    assert (eng.best_bid(), eng.best_ask()) == (D("100.55"), D("100.65"))


# ---------------------------------------------------------------- cancel and edit


def test_cancel_and_its_refusals() -> None:
    eng = engine()
    eng.submit(req("r", "BUY", "1", "90.00"), T0)
    ups = eng.cancel("r", T0 + NS)
    assert statuses(ups) == ["CANCELLED"]
    assert ups[0].order.updated_ts == T0 + NS
    assert eng.cancel_error("r") == "DUPLICATE_CANCEL"
    with pytest.raises(SimRejected) as err:
        eng.cancel("r", T0)
    assert err.value.reason == "DUPLICATE_CANCEL"
    eng.submit(req("m", "BUY", "1"), T0)
    assert eng.cancel_error("m") == "ALREADY_FILLED"
    assert eng.cancel_error("nope") == "UNKNOWN_ORDER"


def test_edit_size_down_keeps_priority_size_up_loses_it() -> None:
    eng = engine()
    for cid in ("a", "b", "c"):
        eng.submit(req(cid, "BUY", "1", "99.00"), T0)
    ups = eng.edit("a", T0 + NS, size=D("0.5"))
    assert statuses(ups) == ["OPEN"]
    assert ups[0].order.size == D("0.5")
    eng.edit("b", T0 + NS, size=D("2"))  # b now queues behind c
    ups = eng.on_trade(trade("98.00", "1", ts=T0 + 2 * NS))
    assert fills(ups) == [
        ("a", D("99.00"), D("0.5"), Liquidity.MAKER),
        ("c", D("99.00"), D("0.5"), Liquidity.MAKER),
    ]


def test_edit_refusals() -> None:
    eng = engine()
    eng.submit(req("p", "BUY", "1", "99.00"), T0)
    eng.on_trade(trade("98.00", "0.5", ts=T0 + NS))
    assert eng.edit_error("p", D("0.4"), None) == "EDIT_BELOW_FILLED"
    assert eng.edit_error("p", D("0.5"), None) == "EDIT_BELOW_FILLED"
    assert eng.edit_error("p", None, D("99.001")) == "INVALID_EDITED_PRICE"
    assert eng.edit_error("p", D("1"), D("99.00")) == "EDIT_UNCHANGED"
    eng.submit(req("gtd", "BUY", "1", "90.00", tif=TimeInForce.GTD, end_ts=T0 + 10**12), T0)
    assert eng.edit_error("gtd", D("2"), None) == "EDIT_NOT_LIMIT"
    assert eng.edit_error("zzz", D("2"), None) == "UNKNOWN_ORDER"
    with pytest.raises(SimRejected) as err:
        eng.edit("p", T0, size=D("0.1"))
    assert err.value.reason == "EDIT_BELOW_FILLED"
    # a valid edit of a partly filled order keeps what was filled
    ups = eng.edit("p", T0 + 2 * NS, size=D("2"), price=D("98.50"))
    assert ups[0].order.filled_size == D("0.5")
    assert ups[0].order.status is OrderStatus.PARTIALLY_FILLED
    assert ups[0].order.limit_price == D("98.50")


def test_edit_to_a_crossing_price_matches_at_once() -> None:
    eng = engine()
    eng.submit(req("e", "BUY", "1", "99.00"), T0)
    ups = eng.edit("e", T0 + NS, price=D("100.00"))
    assert fills(ups) == [("e", D("100.00"), D("1"), Liquidity.TAKER)]
    assert ups[-1].order.status is OrderStatus.FILLED


# ---------------------------------------------------------------- determinism and state


def _scenario() -> list[Update]:
    eng = engine(market_fill="next_open", volume_participation=D("0.5"))
    out: list[Update] = []
    out += eng.submit(req("a", "BUY", "3", "99.00"), T0)
    out += eng.submit(req("b", "SELL", "2", "101.00"), T0)
    out += eng.submit(req("c", "BUY", "1"), T0)
    for n, (lo, hi) in enumerate([("98", "102"), ("97", "103"), ("95", "104")]):
        out += eng.on_bar(bar("100", hi, lo, "100", v="2", n=n))
    return out


def test_same_calls_give_the_same_updates() -> None:
    first, second = _scenario(), _scenario()
    assert first == second
    assert [u.fill.trade_id for u in first if u.fill] == [
        f"sim-BTC-USD-{n}" for n in range(1, 1 + sum(1 for u in first if u.fill))
    ]


def test_state_round_trip_rebuilds_an_engine_that_behaves_the_same() -> None:
    eng = engine()
    eng.submit(req("a", "BUY", "1", "99.00"), T0)
    eng.submit(req("b", "BUY", "1", "99.00"), T0)
    eng.submit(req("s", "SELL", "1", "94.00", kind=OrderType.STOP_LIMIT, stop_price=D("95.00")), T0)
    eng.on_trade(trade("98.00", "0.25", ts=T0 + NS))
    copy = MatchingEngine(BTC)
    copy.load_state(eng.to_state())
    assert copy.orders() == eng.orders()
    assert copy.open_orders() == eng.open_orders()
    event = trade("94.00", "1.5", ts=T0 + 2 * NS)
    assert copy.on_trade(event) == eng.on_trade(event)


# ---- trigger bracket -----------------------------------------------------------------------


def bracket(cid: str, side: str, size: str, take: str, stop: str) -> OrderRequest:
    return req(cid, side, size, take, kind=OrderType.BRACKET, stop_price=D(stop))


def test_bracket_rests_as_take_profit_and_fills_there() -> None:
    eng = engine()
    assert statuses(eng.submit(bracket("b1", "SELL", "1", "110.00", "95.00"), T0)) == ["OPEN"]
    assert [o.client_order_id for o in eng.open_orders()] == ["b1"]
    ups = eng.on_trade(trade("110.50", "2", side="BUY", ts=T0 + NS))
    assert statuses(ups) == ["FILLED"]
    fill = ups[0].fill
    assert fill is not None
    assert (fill.price, fill.liquidity) == (D("110.00"), Liquidity.MAKER)


def test_bracket_stop_sells_at_once_and_leaves_the_book() -> None:
    eng = engine()
    eng.submit(bracket("b2", "SELL", "1", "110.00", "95.00"), T0)
    ups = eng.on_trade(trade("94.00", "1", side="SELL", ts=T0 + NS))
    assert statuses(ups)[-1] == "FILLED"
    fill = ups[-1].fill
    assert fill is not None
    assert fill.liquidity is Liquidity.TAKER
    assert eng.open_orders() == []


def test_bracket_stop_on_a_bar_fills_at_the_stop_before_the_take_profit() -> None:
    eng = engine()
    eng.submit(bracket("b3", "SELL", "1", "110.00", "95.00"), T0)
    # a wide bar touches both legs: the stop is taken first (the conservative reading)
    ups = eng.on_bar(bar("100.00", "111.00", "94.00", "105.00", n=1))
    assert statuses(ups) == ["FILLED"]
    fill = ups[0].fill
    assert fill is not None
    assert fill.price == D("95.00")


@pytest.mark.parametrize(
    ("side", "take", "stop", "reason"),
    [
        ("SELL", "110.00", "105.00", "STOP_ABOVE_LAST"),
        ("SELL", "96.00", "99.00", "INVALID_STOP_PRICE"),
        ("BUY", "90.00", "95.00", "STOP_BELOW_LAST"),
    ],
)
def test_bracket_geometry_is_checked(side: str, take: str, stop: str, reason: str) -> None:
    ups = engine().submit(bracket("bad", side, "1", take, stop), T0)
    assert statuses(ups) == ["REJECTED"]
    assert ups[0].order.reject_reason == reason
