"""REST over TLS with the official SDK, unmodified: market data, accounts, the order lifecycle,
and the documented errors for bad input."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from coinbase import jwt_generator
from coinbase.rest import RESTClient

PREFIX = "/api/v3/brokerage"


def cid() -> str:
    return uuid.uuid4().hex


def raw(sim, method: str, path: str, *, body: bytes | None = b"{}", params=None, auth=True):
    """A hand-made request (for what the SDK cannot send: bad JSON, odd query strings)."""
    key = json.loads(Path(sim.info.key_file).read_text())
    base = sim.info.rest_base_url
    headers = {"Content-Type": "application/json"}
    if auth:
        token = jwt_generator.build_rest_jwt(
            f"{method} {base}{PREFIX}{path}", key["name"], key["privateKey"]
        )
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(
        method,
        f"https://{base}{PREFIX}{path}",
        data=body,
        params=params,
        headers=headers,
        verify=sim.info.cert_file,
        timeout=10,
    )


def error_of(resp: requests.Response) -> dict:
    assert resp.headers["Content-Type"].startswith("application/json")
    assert '":"' in resp.text
    assert ", " not in resp.text
    return resp.json()


# -- market data ---------------------------------------------------------------------------


def test_server_time(rest):
    t = rest.get_unix_time()
    assert abs(int(t.epoch_seconds) - time.time()) < 5
    assert int(t.epoch_millis) // 1000 == int(t.epoch_seconds)
    assert t.iso.endswith("Z")


def test_products(rest):
    listed = rest.get_products()
    assert listed.num_products == 4  # two USD books and their USDC aliases
    assert {p.product_id for p in listed.products} == {"BTC-USD", "ETH-USD", "BTC-USDC", "ETH-USDC"}
    only = rest.get_products(product_ids=["ETH-USD"], get_tradability_status=True)
    assert [p.product_id for p in only.products] == ["ETH-USD"]
    p = rest.get_product("BTC-USD")
    assert p.base_increment == "0.00000001"
    assert p.quote_increment == "0.01"
    assert Decimal(p.price) > 0
    assert p.status == "online"
    assert p.product_type == "SPOT"
    assert rest.get_public_product("BTC-USD").product_id == "BTC-USD"
    assert [x.product_id for x in rest.get_public_products().products]
    with pytest.raises(requests.HTTPError) as err:
        rest.get_product("NOPE-USD")
    assert err.value.response.status_code == 404
    assert error_of(err.value.response) == {
        "error": "NOT_FOUND",
        "error_details": "valid product_id is required",
        "message": "valid product_id is required",
    }


def test_book_and_best_bid_ask(rest):
    book = rest.get_product_book("BTC-USD", limit=5)
    bids = [Decimal(b.price) for b in book.pricebook.bids]
    asks = [Decimal(a.price) for a in book.pricebook.asks]
    assert len(bids) == len(asks) == 5
    assert bids == sorted(bids, reverse=True)
    assert asks == sorted(asks)
    assert bids[0] < asks[0]
    assert Decimal(book.spread_absolute) == asks[0] - bids[0]
    agg = rest.get_public_product_book("BTC-USD", aggregation_price_increment="100")
    assert all(Decimal(b.price) % 100 == 0 for b in agg.pricebook.bids)
    bba = rest.get_best_bid_ask(product_ids=["BTC-USD", "ETH-USD"])
    assert [pb.product_id for pb in bba.pricebooks] == ["BTC-USD", "ETH-USD"]
    assert all(len(pb.bids) == 1 and len(pb.asks) == 1 for pb in bba.pricebooks)


def test_candles(rest):
    now = int(time.time())
    got = rest.get_candles("BTC-USD", str(now - 3600), str(now), "ONE_MINUTE")
    starts = [int(c.start) for c in got.candles]
    assert 59 <= len(starts) <= 61
    assert starts == sorted(starts, reverse=True)  # newest first
    assert all(s % 60 == 0 for s in starts)
    c = got.candles[0]
    assert Decimal(c.low) <= Decimal(c.open) <= Decimal(c.high)
    hourly = rest.get_public_candles("BTC-USD", str(now - 6 * 3600), str(now), "ONE_HOUR", limit=3)
    assert len(hourly.candles) == 3
    assert all(int(x.start) % 3600 == 0 for x in hourly.candles)
    with pytest.raises(requests.HTTPError) as err:
        rest.get_candles("BTC-USD", str(now - 351 * 60), str(now), "ONE_MINUTE")
    body = error_of(err.value.response)
    assert err.value.response.status_code == 400
    assert body["error"] == "INVALID_ARGUMENT"
    assert body["error_details"] == "start and end must be within 350 candles"
    with pytest.raises(requests.HTTPError):
        rest.get_candles("BTC-USD", str(now - 60), str(now), "TEN_MINUTE")


def test_market_trades(rest):
    got = rest.get_market_trades("ETH-USD", 5)
    assert 1 <= len(got.trades) <= 5
    times = [t.time for t in got.trades]
    assert times == sorted(times, reverse=True)
    assert all(t.side in ("BUY", "SELL") for t in got.trades)
    assert Decimal(got.best_bid) < Decimal(got.best_ask)
    assert rest.get_public_market_trades("ETH-USD", 2).trades


def test_query_strings_with_python_bools(sim):
    ok = raw(
        sim,
        "GET",
        "/products",
        params="get_tradability_status=True&get_all_products=False&product_ids=BTC-USD&product_ids=ETH-USD",
    )
    assert ok.status_code == 200
    assert ok.json()["num_products"] == 2
    bad = raw(sim, "GET", "/products", params="get_all_products=Maybe")
    assert bad.status_code == 400
    assert error_of(bad)["error"] == "INVALID_ARGUMENT"


# -- accounts --------------------------------------------------------------------------------


def test_accounts_and_paging(rest):
    every = rest.get_accounts()
    assert every.has_next is False
    assert every.cursor == ""
    assert every.size == len(every.accounts)
    by_cur = {a.currency: a for a in every.accounts}
    assert {"USD", "BTC", "ETH"} <= set(by_cur)
    assert Decimal(by_cur["USD"].available_balance["value"]) > 0
    first = rest.get_accounts(limit=1)
    assert len(first.accounts) == 1
    assert first.has_next is True
    assert first.cursor
    second = rest.get_accounts(limit=1, cursor=first.cursor)
    assert second.accounts[0].uuid != first.accounts[0].uuid
    assert rest.get_account(first.accounts[0].uuid).account.currency == first.accounts[0].currency


# -- orders ----------------------------------------------------------------------------------


def _bid(rest, symbol="BTC-USD") -> Decimal:
    return Decimal(rest.get_product_book(symbol, limit=1).pricebook.bids[0].price)


def test_resting_limit_order_lifecycle(rest):
    price = (_bid(rest) * Decimal("0.8")).quantize(Decimal("0.01"))
    coid = cid()
    created = rest.limit_order_gtc_buy(coid, "BTC-USD", "0.001", str(price))
    assert created.success is True
    oid = created.success_response["order_id"]
    assert created.success_response["client_order_id"] == coid
    assert created.order_configuration.limit_limit_gtc.limit_price == str(price)

    order = rest.get_order(oid).order
    assert order.status == "OPEN"
    assert order.time_in_force == "GOOD_UNTIL_CANCELLED"
    assert order.order_type == "LIMIT"
    assert order.filled_size == "0"
    assert order.side == "BUY"
    assert Decimal(order.outstanding_hold_amount) > 0

    listed = rest.list_orders(
        order_ids=[oid], product_ids=["BTC-USD"], order_status=["OPEN", "PENDING"]
    )
    assert [o.order_id for o in listed.orders] == [oid]
    assert listed.has_next is False

    usd = next(a for a in rest.get_accounts().accounts if a.currency == "USD")
    assert Decimal(usd.hold["value"]) >= price * Decimal("0.001")

    preview = rest.preview_edit_order(oid, size="0.002", price=str(price - 1))
    assert preview.errors == []
    assert Decimal(preview.base_size) == Decimal("0.002")
    edited = rest.edit_order(oid, size="0.002", price=str(price - 1))
    assert edited.success is True
    assert edited.errors == []
    order = rest.get_order(oid).order
    assert order.order_configuration.limit_limit_gtc.base_size == "0.002"
    assert [h.size for h in order.edit_history] == ["0.002"]

    same = rest.edit_order(oid, size="0.002", price=str(price - 1))
    assert same.success is False
    assert same.errors[0].edit_failure_reason == "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST"
    no_size = rest.edit_order(oid, price=str(price - 2))  # omitted size reads as 0
    assert no_size.errors[0].edit_failure_reason == "INVALID_EDITED_SIZE"

    cancelled = rest.cancel_orders([oid, "00000000-0000-0000-0000-000000000000"])
    ok, unknown = cancelled.results
    assert ok.success is True
    assert ok.failure_reason == "UNKNOWN_CANCEL_FAILURE_REASON"
    assert unknown.success is False
    assert unknown.failure_reason == "UNKNOWN_CANCEL_ORDER"
    assert rest.get_order(oid).order.status == "CANCELLED"
    again = rest.cancel_orders([oid]).results[0]
    assert again.failure_reason == "DUPLICATE_CANCEL_REQUEST"
    gone = rest.edit_order(oid, size="0.003", price=str(price))
    assert gone.errors[0].edit_failure_reason == "ONLY_OPEN_ORDERS_CAN_BE_EDITED"


def test_market_orders_and_fills(rest):
    buy = rest.market_order_buy(cid(), "BTC-USD", "250.00")  # quote-sized
    assert buy.success is True
    oid = buy.success_response["order_id"]
    order = rest.get_order(oid).order
    assert order.status == "FILLED"
    assert order.size_in_quote is True
    assert order.order_configuration.market_market_ioc.quote_size == "250.00"
    assert Decimal(order.filled_value) <= Decimal("250.00")
    assert Decimal(order.total_fees) > 0
    assert order.time_in_force == "IMMEDIATE_OR_CANCEL"
    fills = rest.get_fills(order_ids=[oid]).fills
    assert fills
    assert all(f.order_id == oid and f.liquidity_indicator == "TAKER" for f in fills)
    assert sum(Decimal(f.size) for f in fills) == Decimal(order.filled_size)
    assert len({f.trade_id for f in fills}) == len(fills)

    sell = rest.market_order_sell(cid(), "BTC-USD", "0.0005")
    assert sell.success is True
    sold = rest.get_order(sell.success_response["order_id"]).order
    assert sold.status == "FILLED"
    assert sold.filled_size == "0.0005"

    page1 = rest.get_fills(limit=1)
    assert len(page1.fills) == 1
    assert page1.cursor
    page2 = rest.get_fills(limit=1, cursor=page1.cursor)
    assert page2.fills[0].trade_id != page1.fills[0].trade_id
    summary = rest.get_transaction_summary()
    assert summary.total_volume > 0
    assert summary.fee_tier["taker_fee_rate"] == "0.0060"


def test_partial_fill_rests_as_open(rest):
    ask = Decimal(rest.get_product_book("ETH-USD", limit=1).pricebook.asks[0].price)
    # a little through the ask, so a market tick between the two calls cannot leave the
    # limit behind the book
    price = (ask * Decimal("1.005")).quantize(Decimal("0.01"))
    created = rest.limit_order_gtc_buy(cid(), "ETH-USD", "20", str(price))
    order = rest.get_order(created.success_response["order_id"]).order
    assert order.status in ("OPEN", "FILLED")
    assert Decimal(order.filled_size) > 0
    if order.status == "OPEN":
        assert Decimal("0") < Decimal(order.completion_percentage) < Decimal("100")
        rest.cancel_orders([order.order_id])


def test_reused_client_order_id_returns_the_original(rest):
    price = (_bid(rest) * Decimal("0.7")).quantize(Decimal("0.01"))
    coid = cid()
    first = rest.limit_order_gtc_buy(coid, "BTC-USD", "0.001", str(price))
    second = rest.limit_order_gtc_sell(coid, "BTC-USD", "5", "1.00")
    assert second.success is True
    assert second.success_response["order_id"] == first.success_response["order_id"]
    assert second.success_response["side"] == "BUY"
    assert len(rest.list_orders(order_ids=[first.success_response["order_id"]]).orders) == 1
    rest.cancel_orders([first.success_response["order_id"]])


def test_every_order_configuration(rest):
    bid = _bid(rest)
    low = str((bid * Decimal("0.8")).quantize(Decimal("0.01")))
    stop = str((bid * Decimal("0.7")).quantize(Decimal("0.01")))
    end = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    placed = {
        "market base": rest.market_order_buy(cid(), "BTC-USD", base_size="0.0001"),
        "sor_limit_ioc": rest.limit_order_ioc_buy(cid(), "BTC-USD", "0.001", low),
        "limit_gtc": rest.limit_order_gtc_buy(cid(), "BTC-USD", "0.001", low, post_only=True),
        "limit_gtd": rest.limit_order_gtd_buy(cid(), "BTC-USD", "0.001", low, end),
        "limit_fok": rest.limit_order_fok_buy(cid(), "BTC-USD", "0.001", low),
        "stop_limit_gtc": rest.stop_limit_order_gtc_sell(
            cid(), "BTC-USD", "0.0001", stop, stop, "STOP_DIRECTION_STOP_DOWN"
        ),
        "stop_limit_gtd": rest.stop_limit_order_gtd_sell(
            cid(), "BTC-USD", "0.0001", stop, stop, end, "STOP_DIRECTION_STOP_DOWN"
        ),
    }
    statuses = {}
    for name, r in placed.items():
        assert r.success is True, (name, r)
        statuses[name] = rest.get_order(r.success_response["order_id"]).order
    assert statuses["market base"].status == "FILLED"
    assert statuses["sor_limit_ioc"].status == "CANCELLED"  # nothing at that price
    assert statuses["limit_fok"].status == "CANCELLED"
    assert statuses["limit_gtd"].time_in_force == "GOOD_UNTIL_DATE_TIME"
    assert statuses["stop_limit_gtc"].trigger_status == "STOP_PENDING"
    assert statuses["stop_limit_gtc"].order_type == "STOP_LIMIT"
    take = str((bid * Decimal("1.3")).quantize(Decimal("0.01")))
    gtc = rest.trigger_bracket_order_gtc_sell(cid(), "BTC-USD", "0.00005", take, stop)
    gtd = rest.trigger_bracket_order_gtd_sell(cid(), "BTC-USD", "0.00005", take, stop, end)
    for r in (gtc, gtd):
        assert r.success is True, r
        order = rest.get_order(r.success_response["order_id"]).order
        assert (order.order_type, order.status) == ("BRACKET", "OPEN")
        statuses[order.order_id] = order
    inverted = rest.trigger_bracket_order_gtc_sell(cid(), "BTC-USD", "0.00005", stop, take)
    assert inverted.success is False
    assert inverted.error_response["preview_failure_reason"] in (
        "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE",
        "PREVIEW_INVALID_STOP_PRICE",
    )
    rest.cancel_orders([o.order_id for o in statuses.values() if o.status == "OPEN"])


def test_preview(rest):
    ok = rest.preview_market_order_buy("BTC-USD", "100.00")
    assert ok.errs == []
    assert Decimal(ok.commission_total) > 0
    assert Decimal(ok.order_total) == Decimal(ok.quote_size) + Decimal(ok.commission_total)
    assert Decimal(ok.best_bid) < Decimal(ok.best_ask)
    assert ok.preview_id
    broke = rest.preview_limit_order_gtc_buy("BTC-USD", "100", "90000.00")
    assert broke.errs == ["PREVIEW_INSUFFICIENT_FUND"]
    tiny = rest.preview_limit_order_gtc_buy("ETH-USD", "0.000000001", "100.00")
    assert tiny.errs == ["PREVIEW_INVALID_SIZE_PRECISION"]


def test_preview_answers_in_coinbase_shape_and_places_nothing(sim, rest):
    sample = json.loads((Path(__file__).parent / "data" / "rest_preview_order.json").read_text())
    placed = len(sim.state.venue.orders())
    bid = _bid(rest)
    low = str((bid * Decimal("0.9")).quantize(Decimal("0.01")))
    answers = {
        "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL": rest.preview_market_order_buy("BTC-USD", "0.10"),
        "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE": rest.preview_limit_order_gtc_sell(
            "BTC-USD", "5000", low
        ),
        "PREVIEW_INVALID_PRICE_PRECISION": rest.preview_limit_order_gtc_buy(
            "BTC-USD", "0.001", low + "1"
        ),
        "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY": rest.preview_limit_order_gtc_buy(
            "BTC-USD", "0.001", str((bid * Decimal("1.1")).quantize(Decimal("0.01"))), True
        ),
        # A limit buy: a market buy's preview is figured on the book's depth as it stands,
        # which the shared simulator's moving book can leave below the account's cash.
        "PREVIEW_INSUFFICIENT_FUND": rest.preview_limit_order_gtc_buy("BTC-USD", "100", low),
    }
    for reason, answer in answers.items():
        assert answer.errs == [reason]
        assert set(answer.to_dict()) >= set(sample)
    fine = rest.preview_limit_order_gtc_buy("BTC-USD", "0.001", low)
    assert fine.errs == []
    assert fine.warning == []
    assert Decimal(fine.base_size) == Decimal("0.001")
    assert Decimal(fine.order_total) == Decimal(fine.quote_size) + Decimal(fine.commission_total)
    assert len(sim.state.venue.orders()) == placed  # a preview never places an order


@pytest.mark.parametrize(
    ("config", "reason_key", "reason"),
    [
        (
            {"limit_limit_gtc": {"base_size": "0.000000001", "limit_price": "1.00"}},
            "preview_failure_reason",
            "PREVIEW_INVALID_SIZE_PRECISION",
        ),
        (
            {"limit_limit_gtc": {"base_size": "5000", "limit_price": "1.00"}},
            "preview_failure_reason",
            "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
        ),
        (
            {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "1.001"}},
            "new_order_failure_reason",
            "INVALID_PRICE_PRECISION",
        ),
        (
            {"market_market_ioc": {"quote_size": "0.10"}},
            "preview_failure_reason",
            "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
        ),
        (
            {"market_market_ioc": {"quote_size": "1000000.00"}},
            "preview_failure_reason",
            "PREVIEW_INSUFFICIENT_FUND",
        ),
        (
            {"limit_limit_ioc": {"base_size": "0.001", "limit_price": "1.00"}},
            "new_order_failure_reason",
            "UNSUPPORTED_ORDER_CONFIGURATION",
        ),
        (
            {"limit_limit_gtc": {"limit_price": "1.00"}},
            "new_order_failure_reason",
            "UNSUPPORTED_ORDER_CONFIGURATION",
        ),
        (
            {
                "limit_limit_gtd": {
                    "base_size": "0.001",
                    "limit_price": "1.00",
                    "end_time": "2020-01-01T00:00:00Z",
                }
            },
            "preview_failure_reason",
            "PREVIEW_END_TIME_IS_IN_THE_PAST",
        ),
        (
            {"limit_limit_gtc": {"base_size": "abc", "limit_price": "1.00"}},
            "new_order_failure_reason",
            "INVALID_REQUEST",
        ),
        ({}, "new_order_failure_reason", "UNSUPPORTED_ORDER_CONFIGURATION"),
    ],
)
def test_rejections_are_200_success_false(rest, config, reason_key, reason):
    r = rest.create_order(cid(), "BTC-USD", "BUY", config)
    assert r.success is False
    assert r.error_response[reason_key] == reason
    assert set(r.error_response) == {
        "error",
        "message",
        "error_details",
        "preview_failure_reason",
        "new_order_failure_reason",
    }


def test_post_only_cross_and_bad_side(rest):
    ask = Decimal(rest.get_product_book("BTC-USD", limit=1).pricebook.asks[0].price)
    r = rest.limit_order_gtc_buy(cid(), "BTC-USD", "0.001", str(ask + 100), post_only=True)
    assert r.success is False
    assert r.error_response["new_order_failure_reason"] == "INVALID_LIMIT_PRICE_POST_ONLY"
    side = rest.create_order(cid(), "BTC-USD", "HOLD", {"market_market_ioc": {"quote_size": "10"}})
    assert side.error_response["new_order_failure_reason"] == "INVALID_SIDE"


def test_structural_errors_are_400(sim, rest):
    bad_json = raw(sim, "POST", "/orders", body=b"{not json")
    assert bad_json.status_code == 400
    assert error_of(bad_json)["error"] == "INVALID_ARGUMENT"
    with pytest.raises(requests.HTTPError) as err:
        rest.create_order(cid(), "DOGE-EUR", "BUY", {"market_market_ioc": {"quote_size": "10"}})
    assert err.value.response.status_code == 400
    assert error_of(err.value.response)["error_details"] == "ProductID is invalid"
    with pytest.raises(requests.HTTPError) as err:
        rest.cancel_orders([str(i) for i in range(101)])
    assert err.value.response.status_code == 400
    with pytest.raises(requests.HTTPError) as err:
        rest.get_order("no-such-order")
    assert err.value.response.status_code == 404
    assert error_of(err.value.response)["error_details"] == "order with this orderID was not found"
    with pytest.raises(requests.HTTPError) as err:
        rest.list_orders(order_status=["SLEEPING"])
    assert err.value.response.status_code == 400
    missing_coid = raw(
        sim,
        "POST",
        "/orders",
        body=json.dumps(
            {"product_id": "BTC-USD", "side": "BUY", "order_configuration": {}}
        ).encode(),
    )
    assert missing_coid.status_code == 400
    unknown_path = raw(sim, "GET", "/nothing/here")
    assert unknown_path.status_code == 404
    assert error_of(unknown_path)["error"] == "NOT_FOUND"
    assert raw(sim, "POST", "/orders/preview", body=b"[1, 2]").status_code == 400


def test_portfolios_and_permissions(rest):
    perms = rest.get_api_key_permissions()
    assert perms.can_view is True
    assert perms.can_trade is True
    assert perms.portfolio_type == "DEFAULT"
    pf = rest.get_portfolios().portfolios[0]
    assert pf.uuid == perms.portfolio_uuid
    breakdown = rest.get_portfolio_breakdown(pf.uuid).breakdown
    assert breakdown.portfolio.uuid == pf.uuid
    assert breakdown.spot_positions


def test_rate_limit_headers_on_private_replies(sim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    client = RESTClient(
        key_file=sim.info.key_file, base_url=sim.info.rest_base_url, rate_limit_headers=True
    )
    r = client.get_accounts()
    assert r.rate_limit_limit == "30"
    assert int(r.rate_limit_remaining) < 30
