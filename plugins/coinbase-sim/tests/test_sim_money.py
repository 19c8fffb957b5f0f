"""Money at the simulator, over TLS with the official SDK: what a quote-sized market buy
spends, that balances stay on the cent after hundreds of fills, and the USDC books that
Coinbase serves as aliases of the USD books."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import record_ws

D = Decimal
CENT = D("0.01")
START = D(1_000_000)
SIM_OPTIONS = {
    "seed": 5,
    "products": ["BTC-USD", "XRP-USD", "DOGE-USDC"],  # DOGE-USDC asks for the DOGE-USD book
    "balances": {"USD": START, "USDC": START},
}


def cid() -> str:
    return uuid.uuid4().hex


def balances(rest: RESTClient) -> dict[str, tuple[Decimal, Decimal]]:
    """currency -> (available, hold), from get_accounts."""
    out = {}
    for a in rest.get_accounts(limit=250).accounts:
        out[a.currency] = (D(a.available_balance["value"]), D(a.hold["value"]))
    return out


def total(rest: RESTClient, currency: str) -> Decimal:
    available, hold = balances(rest)[currency]
    return available + hold


def every(list_page: Callable[..., Any], key: str) -> list:
    """Every item of a cursor-paged SDK listing (``rest.list_orders``, ``rest.get_fills``)."""
    out, cursor = [], None
    while True:
        page = list_page(limit=1000, cursor=cursor)
        out += page[key]
        if not page.cursor:
            return out
        cursor = page.cursor


def all_orders(rest: RESTClient) -> list:
    return every(rest.list_orders, "orders")


def all_fills(rest: RESTClient) -> list:
    return every(rest.get_fills, "fills")


def best(rest: RESTClient, symbol: str) -> tuple[Decimal, Decimal]:
    book = rest.get_product_book(symbol, limit=1).pricebook
    return D(book.bids[0]["price"]), D(book.asks[0]["price"])


# -- 1. a quote-sized market buy spends at most its quote, fees included ------------------------


@pytest.mark.parametrize(("symbol", "quote"), [("BTC-USD", "100"), ("XRP-USD", "37.13")])
def test_quote_sized_market_buy_spends_at_most_the_quote_fees_included(module_rest, symbol, quote):
    cash = symbol.partition("-")[2]
    before = total(module_rest, cash)
    buy = module_rest.market_order_buy(cid(), symbol, quote_size=quote)
    assert buy.success is True
    order = module_rest.get_order(buy.success_response["order_id"]).order
    assert (order.status, order.size_in_quote) == ("FILLED", True)
    value, fees = D(order.filled_value), D(order.total_fees)
    assert fees > 0
    assert value + fees <= D(quote)
    assert D(order.total_value_after_fees) == value + fees
    assert order.completion_percentage == "100.00"
    # the fee came out of the quote: what is left could not buy one more base increment
    product = module_rest.get_product(symbol)
    _, ask = best(module_rest, symbol)
    assert D(quote) - (value + fees) < ask * D(product.base_increment) * D("1.006") + 2 * CENT
    assert before - total(module_rest, cash) == value + fees
    fills = module_rest.get_fills(order_ids=[order.order_id]).fills
    assert sum(D(f.commission) for f in fills) == fees


def test_preview_of_a_quote_sized_buy_fits_the_quote(module_rest):
    preview = module_rest.preview_market_order_buy("BTC-USD", "100")
    assert preview.errs == []
    total_ = D(preview.order_total)
    assert total_ == D(preview.quote_size) + D(preview.commission_total)
    assert D(99) < total_ <= D(100)


def test_a_quote_sized_buy_beyond_the_cash_is_refused_even_when_the_book_is_thinner(module_rest):
    # Coinbase holds the whole quote; sizing the order down to the book first would let a
    # buy of more than the account holds through whenever the book is worth less than cash.
    available, _ = balances(module_rest)["USD"]
    book = module_rest.get_product_book("XRP-USD", limit=1000).pricebook
    assert sum(D(a.price) * D(a.size) for a in book.asks) < available, "the case needs a thin book"
    quote = str(available + CENT)
    orders_before = len(all_orders(module_rest))
    refused = module_rest.market_order_buy(cid(), "XRP-USD", quote_size=quote)
    assert refused.success is False
    assert refused.error_response["error"] == "INSUFFICIENT_FUND"
    assert refused.error_response["preview_failure_reason"] == "PREVIEW_INSUFFICIENT_FUND"
    assert balances(module_rest)["USD"] == (available, D(0))
    assert len(all_orders(module_rest)) == orders_before
    preview = module_rest.preview_market_order_buy("XRP-USD", quote)
    assert preview.errs == ["PREVIEW_INSUFFICIENT_FUND"]
    assert module_rest.market_order_buy(cid(), "XRP-USD", quote_size="100").success is True


# -- 2. cash stays on the cent ------------------------------------------------------------------


def _trade_a_lot(rest: RESTClient, rng: random.Random) -> None:
    """Market buys by quote and by base, market sells, and resting limits our own market
    orders then take (maker and taker fills), until there are a few hundred fills."""
    symbols = ["BTC-USD", "XRP-USD", "BTC-USDC", "DOGE-USDC"]
    base_size = {"BTC": (D("0.00001"), 5000), "XRP": (D("0.001"), 90_000), "DOGE": (D("0.1"), 900)}
    products = {s: rest.get_product(s) for s in symbols}
    for n in range(1, 600):
        if n % 25 == 0 and len(all_fills(rest)) >= 300:
            return
        symbol = rng.choice(symbols)
        base = symbol.partition("-")[0]
        unit, most = base_size[base]
        size = str(unit * rng.randint(1, most))
        held = balances(rest)[base][0]
        action = rng.random()
        if action < 0.3:
            quote = D(rng.randint(100, 40_000)) / 100
            rest.market_order_buy(cid(), symbol, quote_size=str(quote))
        elif action < 0.5 or held < D(size):
            rest.market_order_buy(cid(), symbol, base_size=size)
        elif action < 0.75:
            rest.market_order_sell(cid(), symbol, base_size=size)
        else:  # a bid inside the spread, then our own market sell takes it
            bid, ask = best(rest, symbol)
            tick = D(products[symbol].price_increment)
            if bid + tick >= ask:
                continue
            rest.limit_order_gtc_buy(cid(), symbol, size, str(bid + tick))
            rest.market_order_sell(cid(), symbol, base_size=size)
    raise AssertionError("too few fills")


def test_balances_stay_on_the_cent_after_hundreds_of_fills(module_rest):
    _trade_a_lot(module_rest, random.Random(11))
    orders = all_orders(module_rest)
    fills = all_fills(module_rest)
    assert len(fills) >= 300
    assert {f.liquidity_indicator for f in fills} == {"MAKER", "TAKER"}
    # the fills' values were off the cent grid: the venue rounded each one
    assert sum(1 for f in fills if (D(f.price) * D(f.size)) % CENT) > 200
    by_order: dict[str, list] = {}
    for f in fills:
        by_order.setdefault(f.order_id, []).append(f)

    flow = {"USD": START, "USDC": START, "BTC": D(0), "XRP": D(0), "DOGE": D(0)}
    books = {"USD": START, "USDC": START}  # the same, from the fills' exact price * size
    for o in orders:
        base, _, quote = o.product_id.partition("-")
        value, fees, size = D(o.filled_value), D(o.total_fees), D(o.filled_size)
        own = by_order.get(o.order_id, [])
        assert value % CENT == 0, o.order_id
        assert fees % CENT == 0, o.order_id
        assert fees == sum((D(f.commission) for f in own), D(0))
        exact = sum((D(f.price) * D(f.size) for f in own), D(0))
        assert abs(value - exact) <= CENT * len(own)  # each fill settled within a cent
        sign = 1 if o.side == "SELL" else -1
        flow[quote] += sign * value - fees
        flow[base] -= sign * size
        books[quote] += sign * exact - fees

    held = balances(module_rest)
    for currency in ("USD", "USDC"):
        available, hold = held[currency]
        assert available % CENT == 0, (currency, available)
        assert hold % CENT == 0, (currency, hold)
        assert available + hold == flow[currency], currency
        assert available + hold == books[currency].quantize(CENT), currency  # no drift
    for currency in ("BTC", "XRP", "DOGE"):
        assert sum(held[currency]) == flow[currency], currency


# -- 3. USDC books ------------------------------------------------------------------------------


def test_usdc_pairs_are_aliases_of_the_usd_books(module_rest):
    usd, usdc = module_rest.get_product("BTC-USD"), module_rest.get_product("BTC-USDC")
    assert (usd.alias, usd.alias_to) == ("", ["BTC-USDC"])
    assert (usdc.alias, usdc.alias_to) == ("BTC-USD", [])
    assert (usdc.quote_currency_id, usdc.base_currency_id, usdc.status) == ("USDC", "BTC", "online")
    assert (usdc.price, usdc.price_increment) == (usd.price, usd.price_increment)
    listed = {p.product_id for p in module_rest.get_products(product_type="SPOT").products}
    assert {"BTC-USDC", "XRP-USDC", "DOGE-USDC", "DOGE-USD"} <= listed
    assert best(module_rest, "BTC-USDC") == best(module_rest, "BTC-USD")


def test_an_order_on_the_usdc_pair_rests_in_the_usd_book_and_settles_in_usdc(module_rest):
    bid, ask = best(module_rest, "BTC-USD")
    assert bid + CENT < ask
    before = balances(module_rest)
    placed = module_rest.limit_order_gtc_buy(cid(), "BTC-USDC", "0.002", str(bid + CENT))
    assert placed.success is True, placed.error_response
    oid = placed.success_response["order_id"]
    assert best(module_rest, "BTC-USD") == (bid + CENT, ask)  # one book
    held = balances(module_rest)
    assert held["USD"] == before["USD"]
    assert held["USDC"][1] - before["USDC"][1] > (bid + CENT) * D("0.002")

    sold = module_rest.market_order_sell(cid(), "BTC-USD", base_size="0.002")  # takes it
    assert sold.success is True
    order = module_rest.get_order(oid).order
    assert (order.status, order.product_id, order.filled_size) == ("FILLED", "BTC-USDC", "0.002")
    (fill,) = module_rest.get_fills(order_ids=[oid]).fills
    assert (fill.product_id, fill.liquidity_indicator) == ("BTC-USDC", "MAKER")
    value, fees = D(order.filled_value), D(order.total_fees)
    after = balances(module_rest)
    assert sum(before["USDC"]) - sum(after["USDC"]) == value + fees
    taker = module_rest.get_order(sold.success_response["order_id"]).order
    assert sum(after["USD"]) - sum(before["USD"]) == D(taker.filled_value) - D(taker.total_fees)
    assert sum(after["BTC"]) == sum(before["BTC"])  # bought on one pair, sold on the other


def test_market_data_of_a_usdc_pair_is_the_usd_book_and_its_user_orders_are_its_own(
    module_sim: SimulatorThread, module_rest
):
    info = module_sim.info
    subscribe = {"type": "subscribe", "product_ids": ["BTC-USDC"], "channel": "level2"}
    rec = asyncio.run(record_ws(info.ws_url, info, [subscribe], duration=0.5))
    (ack,) = [f for f in rec.frames if f["channel"] == "subscriptions"]
    assert ack["events"][0]["subscriptions"] == {"level2": ["BTC-USD"]}
    (snapshot,) = [f for f in rec.frames if f["channel"] == "l2_data"]
    assert snapshot["events"][0]["product_id"] == "BTC-USD"

    placed = module_rest.limit_order_gtc_buy(cid(), "BTC-USDC", "0.001", "1000.00")
    user = module_rest.list_orders(product_ids=["BTC-USDC"], order_status=["OPEN"]).orders
    assert [o.order_id for o in user] == [placed.success_response["order_id"]]
    assert module_rest.cancel_orders([o.order_id for o in user]).results[0].success is True
