"""SimExchange: holds, settlement, rejections, histories, listeners, determinism, state."""

from __future__ import annotations

import dataclasses
import json
import random
from decimal import Decimal

import pytest
from gpt_trader.domain import (
    BookUpdate,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    Side,
    TimeInForce,
)
from gpt_trader.domain.money import CENT, quantize
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.sim.reasons import SimRejected
from gpt_trader.sim.synthetic import SyntheticFeed
from simkit import NS, T0, D, bar, req, trade


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def on_order(self, order: Order) -> None:
        self.events.append(("order", order.client_order_id, order.status.value))

    def on_fill(self, fill: Fill) -> None:
        self.events.append(("fill", fill.client_order_id, fill.trade_id))


def make(usd: str = "10000") -> SimExchange:
    ex = SimExchange(default_products(["BTC-USD", "ETH-USD"]), {"USD": D(usd)})
    ex.on_trade(trade("100.00", "1", ts=T0 - NS))
    return ex


def usd(ex: SimExchange) -> tuple[Decimal, Decimal]:
    b = ex.balance("USD")
    return b.total, b.available


def test_limit_buy_holds_price_size_and_taker_fee_and_cancel_releases_it() -> None:
    ex = make()
    order = ex.submit(req("b", "BUY", "1", "99.00"), T0)
    assert order.status is OrderStatus.OPEN
    # 99 + ceil(99 * 0.006 = 0.594) = 99.60
    assert usd(ex) == (D("10000"), D("9900.40"))
    result = ex.cancel("b", T0 + NS)
    assert result.success
    assert usd(ex) == (D("10000"), D("10000"))
    again = ex.cancel("b", T0 + NS)
    assert (again.success, again.failure_reason) == (False, "DUPLICATE_CANCEL")
    assert ex.cancel("never", T0).failure_reason == "UNKNOWN_ORDER"


def test_insufficient_funds_rejects_and_holds_nothing() -> None:
    ex = make()
    order = ex.submit(req("big", "BUY", "101", "99.00"), T0)  # 9999 + 60.00 > 10000
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "INSUFFICIENT_FUNDS"
    assert usd(ex) == (D("10000"), D("10000"))
    sell = ex.submit(req("naked", "SELL", "0.1"), T0)
    assert sell.reject_reason == "INSUFFICIENT_FUNDS"
    market = ex.submit(req("market", "BUY", "100"), T0)  # 100 @ 100.00 + 60.00 > 10000
    assert market.reject_reason == "INSUFFICIENT_FUNDS"
    rejected = ex.order("big")
    assert rejected is not None
    assert rejected.status is OrderStatus.REJECTED
    assert ex.open_orders() == []


def test_fills_settle_balances_and_positions_exactly() -> None:
    ex = make()
    ex.submit(req("m", "BUY", "2"), T0)  # 2 @ 100.00, fee 1.20
    assert usd(ex) == (D("9798.80"), D("9798.80"))
    assert ex.balance("BTC").total == D("2")
    ex.submit(req("s", "SELL", "1", "100.00"), T0)  # crosses the bid: taker, fee 0.60
    assert usd(ex) == (D("9898.20"), D("9898.20"))
    assert ex.balance("BTC").total == D("1")
    [pos] = ex.positions()
    assert (pos.symbol, pos.size, pos.avg_entry_price) == ("BTC-USD", D("1"), D("100.00"))
    assert pos.mark_price == D("100.00")
    assert pos.fees == D("1.80")


def test_sell_holds_base_and_maker_fill_releases_the_whole_hold() -> None:
    ex = make()
    ex.submit(req("m", "BUY", "1"), T0)
    ex.submit(req("ask", "SELL", "1", "105.00"), T0)
    btc = ex.balance("BTC")
    assert (btc.total, btc.available) == (D("1"), D("0"))
    ex.submit(req("bid", "BUY", "1", "99.00"), T0)
    ex.on_trade(trade("98.00", "1", "SELL", ts=T0 + NS))  # bid fills as maker: 99 + 0.40
    total, available = usd(ex)
    assert total == available  # nothing left on hold after FILLED
    assert total == D("10000") - D("100.60") - D("99.40")
    ex.on_trade(trade("106.00", "1", "BUY", ts=T0 + 2 * NS))  # ask fills: +105 - 0.42
    assert usd(ex)[0] == D("10000") - D("100.60") - D("99.40") + D("105") - D("0.42")
    assert ex.balance("BTC") == ex.balance("BTC").__class__("BTC", D("1"), D("1"))


def test_partial_fill_then_cancel_releases_the_rest_of_the_hold() -> None:
    ex = make()
    ex.submit(req("b", "BUY", "2", "99.00"), T0)
    ex.on_trade(trade("98.00", "0.5", ts=T0 + NS))
    ex.cancel("b", T0 + 2 * NS)
    total, available = usd(ex)
    assert total == available == D("10000") - D("49.50") - D("0.20")  # 0.198 -> 0.20


def test_reused_client_order_id_returns_original_and_changes_nothing() -> None:
    ex = make()
    rec = Recorder()
    ex.add_listener(rec)
    first = ex.submit(req("dup", "BUY", "1", "99.00"), T0)
    seen, balance, version = list(rec.events), usd(ex), ex.version
    again = ex.submit(req("dup", "BUY", "5", "90.00"), T0 + NS)
    assert again == first
    assert rec.events == seen
    assert usd(ex) == balance
    assert ex.version == version
    assert len(ex.orders()) == 1


def test_unknown_product_is_rejected_and_remembered() -> None:
    ex = make()
    order = ex.submit(req("x", "BUY", "1", "1.00", symbol="FOO-USD"), T0)
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, "UNKNOWN_PRODUCT")
    assert ex.order("x") == order
    assert ex.order_by_id(order.order_id) == order


def test_listeners_see_fill_before_its_order_update_once_each_in_order() -> None:
    ex = make()
    rec = Recorder()
    ex.add_listener(rec)
    ex.submit(req("m", "BUY", "1"), T0)
    ex.submit(req("r", "BUY", "2", "99.00"), T0)
    ex.on_trade(trade("98.00", "0.5", ts=T0 + NS))
    ex.cancel("r", T0 + 2 * NS)
    ids = [f.trade_id for f in ex.fills()]
    assert rec.events == [
        ("order", "m", "OPEN"),
        ("fill", "m", ids[0]),
        ("order", "m", "FILLED"),
        ("order", "r", "OPEN"),
        ("fill", "r", ids[1]),
        ("order", "r", "PARTIALLY_FILLED"),
        ("order", "r", "CANCELLED"),
    ]
    assert len(set(ids)) == 2


def test_edit_adjusts_the_hold_and_refuses_what_funds_cannot_cover() -> None:
    ex = make("1000")
    ex.submit(req("e", "BUY", "5", "99.00"), T0)  # hold 495 + 2.97
    assert usd(ex)[1] == D("1000") - D("497.97")
    order = ex.edit("e", T0 + NS, size=D("2"))
    assert order.size == D("2")
    assert usd(ex)[1] == D("1000") - D("199.19")  # 198 + ceil(1.188)
    with pytest.raises(SimRejected) as err:
        ex.edit("e", T0 + NS, size=D("20"))
    assert err.value.reason == "EDIT_INSUFFICIENT_FUNDS"
    with pytest.raises(SimRejected):
        ex.edit("unknown", T0, size=D("1"))


def test_fills_history_filters_by_time_symbol_and_order() -> None:
    ex = make()
    ex.submit(req("a", "BUY", "1"), T0)
    ex.on_trade(trade("2000.00", "1", ts=T0, symbol="ETH-USD"))
    ex.submit(req("b", "BUY", "1", symbol="ETH-USD"), T0 + 10 * NS)
    assert [f.client_order_id for f in ex.fills()] == ["a", "b"]
    assert [f.client_order_id for f in ex.fills(T0 + NS)] == ["b"]
    assert [f.client_order_id for f in ex.fills(symbol="BTC-USD")] == ["a"]
    assert [f.client_order_id for f in ex.fills(client_order_id="b")] == ["b"]


def test_expire_runs_on_every_product_and_plain_string_enums_are_accepted() -> None:
    ex = make()
    ex.submit(req("g", "BUY", "1", "90.00", tif="GTD", end_ts=T0 + 60 * NS), T0)  # type: ignore[arg-type]
    order = ex.order("g")
    assert order is not None
    assert order.time_in_force is TimeInForce.GTD
    assert usd(ex)[1] < D("10000")
    [up] = ex.expire(T0 + 60 * NS)
    assert up.order.status is OrderStatus.EXPIRED
    assert usd(ex) == (D("10000"), D("10000"))


def _run(seed: int) -> tuple[list[Fill], list[Order], list[object]]:
    products = default_products(["BTC-USD", "ETH-USD"])
    ex = SimExchange(products, {"USD": D(1_000_000)}, market_fill="next_open", seed=seed)
    feed = SyntheticFeed(products, seed=seed, pace_s=0)
    n = 0
    for candle in feed.events(["BTC-USD", "ETH-USD"], limit=300):
        ex.on_market(candle)
        n += 1
        if n % 7 == 0:
            ts = candle.close_ts
            side = Side.BUY if n % 14 else Side.SELL
            price = candle.close * (D("0.999") if side is Side.BUY else D("1.001"))
            price = products[candle.symbol].quantize_price(price)
            if side is Side.SELL and ex.balance(products[candle.symbol].base).available < D("0.01"):
                continue
            ex.submit(req(f"o{n}", side, "0.01", str(price), symbol=candle.symbol), ts)
        if n % 11 == 0:
            ex.submit(req(f"m{n}", "BUY", "0.01", symbol=candle.symbol), candle.close_ts)
    return ex.fills(), ex.orders(), list(ex.balances())


def test_same_seed_same_fills_different_seed_different_ids() -> None:
    fills_a, orders_a, balances_a = _run(7)
    fills_b, orders_b, balances_b = _run(7)
    assert len(fills_a) > 20
    assert fills_a == fills_b
    assert orders_a == orders_b
    assert balances_a == balances_b
    _, orders_c, _ = _run(8)
    assert orders_c[0].order_id != orders_a[0].order_id


def test_state_round_trip_through_json_keeps_everything() -> None:
    ex = make()
    ex.submit(req("m", "BUY", "1"), T0)
    ex.submit(req("r", "BUY", "1", "95.00"), T0)
    ex.submit(req("x", "BUY", "1", "1.00", symbol="FOO-USD"), T0)
    state = json.loads(json.dumps(ex.to_state()))
    copy = make("1")
    copy.load_state(state)
    assert copy.orders() == ex.orders()
    assert copy.open_orders() == ex.open_orders()
    assert copy.fills() == ex.fills()
    assert copy.balances() == ex.balances()
    assert copy.positions() == ex.positions()
    assert copy.starting_balances == {"USD": D("10000")}
    later = bar("100", "100", "90", "95", n=1)
    assert copy.on_bar(later) == ex.on_bar(later)
    assert copy.balances() == ex.balances()


def test_an_unknown_side_is_rejected_invalid_side() -> None:
    ex = make()
    bad = OrderRequest("s", "BTC-USD", "HOLD", D(1))  # type: ignore[arg-type]
    order = ex.submit(bad, T0)
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, "INVALID_SIDE")
    assert usd(ex) == (D("10000"), D("10000"))


# ---------------------------------------------------------------- cash on the cent


def _quote_flow(ex: SimExchange, currency: str) -> Decimal:
    """Start - every buy's value and fee + every sell's value less its fee, in ``currency``."""
    out = ex.starting_balances.get(currency, D(0))
    for o in ex.orders():
        product = ex.product(o.symbol)
        if product is None or product.quote != currency:
            continue
        value = ex.filled_value(o.client_order_id)
        out += value - o.fees if o.side is Side.SELL else -(value + o.fees)
    return out


def test_cash_stays_on_the_cent_after_hundreds_of_fills() -> None:
    symbols = ["BTC-USD", "XRP-USD", "DOGE-USD"]  # price grids of 0.01, 0.0001, 0.00001
    products = default_products(symbols)
    ex = SimExchange(products, {"USD": D(1_000_000)}, maker_fee=D("0.004"), taker_fee=D("0.006"))
    rng = random.Random(5)
    mid = {"BTC-USD": 100_000.0, "XRP-USD": 2.2, "DOGE-USD": 0.3}
    budget = {"BTC-USD": 0.02, "XRP-USD": 900.0, "DOGE-USD": 6000.0}
    ts = T0
    for n in range(600):
        ts += NS
        symbol = symbols[n % 3]
        p = products[symbol]
        mid[symbol] *= rng.uniform(0.995, 1.005)
        price = p.quantize_price(Decimal(repr(mid[symbol])))
        ex.on_trade(trade(str(price), "1000000", rng.choice(["BUY", "SELL"]), ts, symbol))
        size = p.quantize_size(Decimal(repr(rng.uniform(0.05, 1) * budget[symbol])))
        held = ex.balance(p.base).available
        side = "SELL" if held >= size and rng.random() < 0.5 else "BUY"
        if rng.random() < 0.5:
            ex.submit(req(f"m{n}", side, str(size), symbol=symbol), ts)  # taker, now
        else:
            off = p.price_increment * rng.randint(1, 5) * (-1 if side == "BUY" else 1)
            ex.submit(req(f"l{n}", side, str(size), str(price + off), symbol=symbol), ts)
    fills = ex.fills()
    assert len(fills) >= 300
    assert {f.liquidity for f in fills} == {Liquidity.MAKER, Liquidity.TAKER}
    # the traded values were not on the cent: the rounding had work to do
    assert sum(1 for f in fills if f.notional != f.notional.quantize(CENT)) > 200
    usd = ex.balance("USD")
    for amount in (usd.total, usd.available, usd.hold):
        assert amount == amount.quantize(CENT), amount
    assert usd.total == _quote_flow(ex, "USD")
    # ... and the exact books rounded: no drift, however many fills
    books = D(1_000_000)
    for f in fills:
        books += f.notional - f.fee if f.side is Side.SELL else -(f.notional + f.fee)
    assert usd.total == quantize(books, CENT)
    for o in ex.orders():
        value = ex.filled_value(o.client_order_id)
        exact = sum((f.notional for f in fills if f.client_order_id == o.client_order_id), D(0))
        assert value == value.quantize(CENT)
        assert o.fees == o.fees.quantize(CENT)
        assert abs(value - exact) <= CENT * len(o.trade_ids)  # each fill within a cent


def test_an_alias_trades_in_the_book_it_aliases_and_settles_in_its_own_currency() -> None:
    btc = default_products(["BTC-USD"])["BTC-USD"]
    twin = dataclasses.replace(btc, symbol="BTC-USDC", quote="USDC")
    wallets = {"USD": D(1000), "USDC": D(1000), "BTC": D(1)}
    ex = SimExchange([btc, twin], wallets, aliases={"BTC-USDC": "BTC-USD"})
    levels = ((D("98.00"), D(5)),), ((D("101.00"), D(5)),)
    ex.apply_book(BookUpdate("BTC-USD", T0 - NS, *levels, snapshot=True))
    assert ex.engine("BTC-USDC") is ex.engine("BTC-USD")
    bid = ex.submit(req("b", "BUY", "2", "99.00", symbol="BTC-USDC"), T0)
    assert (bid.symbol, bid.status) == ("BTC-USDC", OrderStatus.OPEN)
    assert ex.engine("BTC-USD").book_levels()[0] == [(D("99.00"), D(2)), (D("98.00"), D(5))]
    assert ex.balance("USDC").available == D(1000) - D(198) - D("1.19")  # held with the fee
    assert ex.balance("USD").available == D(1000)
    sold = ex.submit(req("s", "SELL", "0.5", symbol="BTC-USD"), T0 + NS)  # takes the bid
    assert (sold.status, sold.avg_fill_price) == (OrderStatus.FILLED, D("99.00"))
    maker = ex.order("b")
    assert maker is not None
    assert (maker.filled_size, maker.fees) == (D("0.5"), D("0.20"))  # 49.50 * 0.004 = 0.198
    assert ex.balance("USDC").total == D(1000) - D("49.50") - D("0.20")
    assert ex.balance("USD").total == D(1000) + D("49.50") - D("0.30")  # taker 0.006
    assert ex.balance("BTC").total == D(1)
    assert [o.client_order_id for o in ex.open_orders("BTC-USDC")] == ["b"]
    copy = SimExchange([btc, twin], wallets, aliases={"BTC-USDC": "BTC-USD"})
    copy.load_state(json.loads(json.dumps(ex.to_state())))
    assert (copy.orders(), copy.balances()) == (ex.orders(), ex.balances())
    # the alias order rests in the book it shares (synthetic levels are not state)
    assert copy.engine("BTC-USD").book_levels()[0] == [(D("99.00"), D("1.5"))]


def test_an_alias_must_name_a_book() -> None:
    btc = default_products(["BTC-USD"])["BTC-USD"]
    twin = dataclasses.replace(btc, symbol="BTC-USDC", quote="USDC")
    with pytest.raises(ValueError, match="BTC-USDC"):
        SimExchange([twin], aliases={"BTC-USDC": "BTC-USD"})


def test_a_market_buy_of_the_whole_balance_is_held_what_it_costs() -> None:
    products = default_products(["BTC-USD"])
    ex = SimExchange(products, {"USD": D("100.00")})
    levels = ((D("99990.00"), D(1)),), ((D("100000.00"), D("0.0004")), (D("100010.37"), D(5)))
    ex.apply_book(BookUpdate("BTC-USD", T0 - NS, *levels, snapshot=True))
    size = ex.engine("BTC-USD").size_for_quote(Side.BUY, D(100))
    assert size == D("0.00099398")
    # two fills: 99.40416... -> 99.40 and fees 0.24 + 0.36; an estimate at the average
    # price (99.41 + 0.60) would have refused it for want of a cent
    order = ex.submit(req("all", "BUY", str(size)), T0)
    assert (order.status, len(order.trade_ids), order.fees) == (OrderStatus.FILLED, 2, D("0.60"))
    assert ex.filled_value("all") == D("99.40")
    assert usd(ex) == (D("0.00"), D("0.00"))
