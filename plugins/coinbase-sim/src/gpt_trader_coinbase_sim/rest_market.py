"""REST market data: time, products, book, best bid/ask, candles, market trades.

Each private route has a public ``/market/...`` twin with the same reply. A USDC alias
(``BTC-USDC``) is listed as its own product, with ``alias`` naming its USD book; its book,
candles and trades are that book's, answered under the id that was asked for.
"""

from __future__ import annotations

import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from aiohttp import web

from gpt_trader_coinbase_sim.errors import invalid_argument, not_found
from gpt_trader_coinbase_sim.market import NS
from gpt_trader_coinbase_sim.middleware import PREFIX, json_ok
from gpt_trader_coinbase_sim.rest_cfm import product_extras
from gpt_trader_coinbase_sim.shapes import (
    book_extras,
    candle_json,
    pricebook_json,
    product_json,
    trade_json,
)
from gpt_trader_coinbase_sim.state import STATE, Levels, SimState
from gpt_trader_coinbase_sim.wire import q_bool, q_int, q_list

GRANULARITY = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "FOUR_HOUR": 14400,
    "SIX_HOUR": 21600,
    "ONE_DAY": 86400,
}
MAX_CANDLES = 350


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


def _query_error(e: ValueError) -> Exception:
    return invalid_argument(str(e))


def _product_reply(state: SimState, symbol: str) -> dict[str, object]:
    m = state.market(symbol)
    bids, asks = state.book(symbol, 1)
    mid = (bids[0][0] + asks[0][0]) / 2 if bids and asks else None
    book = state.venue.book_symbol(symbol)
    return product_json(
        state.products[symbol],
        m.stats(state.clock.now_ns()),
        mid,
        alias=book if book != symbol else "",
        alias_to=state.venue.aliased_by(symbol),
        **product_extras(state, symbol),
    )


async def server_time(request: web.Request) -> web.Response:
    ms = time.time_ns() // 1_000_000
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
    return json_ok({"iso": iso, "epochSeconds": str(ms // 1000), "epochMillis": str(ms)})


async def list_products(request: web.Request) -> web.Response:
    state = _state(request)
    q = request.query
    try:
        limit = q_int(q, "limit", None, lo=0)
        offset = q_int(q, "offset", 0, lo=0) or 0
        wanted = q_list(q, "product_ids")
        q_bool(q, "get_tradability_status")
        q_bool(q, "get_all_products")
    except ValueError as e:
        raise _query_error(e) from e
    ptype = q.get("product_type", "")
    expiry_type = q.get("contract_expiry_type", "")
    symbols = [s for s in state.products if not wanted or s in wanted]
    if ptype in ("SPOT", "FUTURE"):
        symbols = [s for s in symbols if state.product_type(s) == ptype]
    if expiry_type in ("EXPIRING", "PERPETUAL"):
        specs = {s: state.venue.spec(s) for s in symbols}
        symbols = [s for s in symbols if (sp := specs[s]) and sp.terms.expiry_type == expiry_type]
    total = len(symbols)
    page = symbols[offset:] if not limit else symbols[offset : offset + limit]
    has_next = offset + len(page) < total
    return json_ok(
        {
            "products": [_product_reply(state, s) for s in page],
            "num_products": total,
            "pagination": {
                "prev_cursor": "",
                "next_cursor": "",
                "has_next": has_next,
                "has_prev": offset > 0,
            },
        }
    )


async def get_product(request: web.Request) -> web.Response:
    state = _state(request)
    symbol = request.match_info["product_id"]
    if symbol not in state.products:
        raise not_found("valid product_id is required")
    return json_ok(_product_reply(state, symbol))


def _aggregate(levels: Levels, inc: Decimal, *, bids: bool) -> Levels:
    out: dict[Decimal, Decimal] = {}
    rounding = ROUND_FLOOR if bids else ROUND_CEILING
    for px, sz in levels:
        bucket = ((px / inc).to_integral_value(rounding=rounding) * inc).quantize(inc)
        out[bucket] = out.get(bucket, Decimal(0)) + sz
    return sorted(out.items(), key=lambda kv: kv[0], reverse=bids)


async def product_book(request: web.Request) -> web.Response:
    state = _state(request)
    q = request.query
    symbol = q.get("product_id", "")
    if symbol not in state.products:
        raise invalid_argument("ProductID is invalid")
    try:
        limit = q_int(q, "limit", None, lo=0)
    except ValueError as e:
        raise _query_error(e) from e
    bids, asks = state.book(symbol)
    agg = q.get("aggregation_price_increment")
    if agg:
        try:
            inc = Decimal(agg)
            if not inc.is_finite() or inc <= 0:
                raise ValueError
        except (ValueError, ArithmeticError) as e:
            raise invalid_argument("invalid aggregation_price_increment") from e
        bids, asks = _aggregate(bids, inc, bids=True), _aggregate(asks, inc, bids=False)
    if limit:
        bids, asks = bids[:limit], asks[:limit]
    m = state.market(symbol)
    return json_ok(
        {
            "pricebook": pricebook_json(symbol, bids, asks, m.book_ts or state.clock.now_ns()),
            **book_extras(bids, asks, m.price),
        }
    )


async def best_bid_ask(request: web.Request) -> web.Response:
    state = _state(request)
    wanted = q_list(request.query, "product_ids") or list(state.products)
    books = []
    for symbol in wanted:
        if symbol not in state.products:
            raise invalid_argument("ProductID is invalid")
        bids, asks = state.book(symbol, 1)
        books.append(
            pricebook_json(symbol, bids, asks, state.market(symbol).book_ts or state.clock.now_ns())
        )
    return json_ok({"pricebooks": books})


def _unix_s(q: object, key: str) -> int | None:
    raw = q.get(key)  # type: ignore[attr-defined]
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as e:
        raise invalid_argument(f"{key} must be a UNIX timestamp in seconds") from e


async def candles(request: web.Request) -> web.Response:
    state = _state(request)
    symbol = request.match_info["product_id"]
    if symbol not in state.products:
        raise invalid_argument("ProductID is invalid")
    q = request.query
    gran_name = q.get("granularity", "")
    if gran_name not in GRANULARITY:
        raise invalid_argument(f"invalid granularity {gran_name!r}")
    gran = GRANULARITY[gran_name]
    start, end = _unix_s(q, "start"), _unix_s(q, "end")
    if start is None or end is None:
        raise invalid_argument("start and end are required")
    if end < start:
        raise invalid_argument("end must be after start")
    try:
        limit = q_int(q, "limit", MAX_CANDLES, lo=1) or MAX_CANDLES
    except ValueError as e:
        raise _query_error(e) from e
    if limit > MAX_CANDLES or (end - start) // gran > MAX_CANDLES:
        raise invalid_argument("start and end must be within 350 candles")
    bars = state.market(symbol).candles(start * NS, end * NS, gran)
    return json_ok({"candles": [candle_json(b) for b in bars[:limit]]})


async def market_trades(request: web.Request) -> web.Response:
    state = _state(request)
    symbol = request.match_info["product_id"]
    if symbol not in state.products:
        raise invalid_argument("ProductID is invalid")
    q = request.query
    try:
        limit = q_int(q, "limit", 100, lo=1) or 100
    except ValueError as e:
        raise _query_error(e) from e
    start, end = _unix_s(q, "start"), _unix_s(q, "end")
    trades = state.market(symbol).trades(
        min(limit, 1000),
        start * NS if start is not None else None,
        end * NS + NS - 1 if end is not None else None,
    )
    bids, asks = state.book(symbol, 1)
    return json_ok(
        {
            "trades": [trade_json(t) for t in trades],
            "best_bid": str(bids[0][0]) if bids else "",
            "best_ask": str(asks[0][0]) if asks else "",
        }
    )


def routes() -> list[web.RouteDef]:
    out = [web.get(f"{PREFIX}/time", server_time)]
    for base in (PREFIX, f"{PREFIX}/market"):
        out += [
            web.get(f"{base}/products", list_products),
            web.get(f"{base}/products/{{product_id}}", get_product),
            web.get(f"{base}/product_book", product_book),
            web.get(f"{base}/products/{{product_id}}/candles", candles),
            web.get(f"{base}/products/{{product_id}}/ticker", market_trades),
        ]
    out.append(web.get(f"{PREFIX}/best_bid_ask", best_bid_ask))
    return out


__all__ = ["routes"]
