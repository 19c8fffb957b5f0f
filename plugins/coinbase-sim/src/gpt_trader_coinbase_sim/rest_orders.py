"""REST orders: create, preview, edit, edit preview, batch cancel, get/list orders, fills.

Rejections are HTTP 200 ``success:false`` (create) or ``errs`` (preview), never 4xx; only
structural problems (not JSON, unknown product, missing client_order_id) are 400s.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web
from gpt_trader.domain import Order, OrderRequest, OrderStatus, TimeInForce
from gpt_trader.domain.money import currency_increment, fee_amount

from gpt_trader_coinbase_sim.errors import invalid_argument, not_found
from gpt_trader_coinbase_sim.middleware import PREFIX, json_ok, read_json
from gpt_trader_coinbase_sim.orderconfig import (
    OrderRejected,
    ParsedOrder,
    Rejection,
    check_top_level,
    echo_config,
    parse_order,
)
from gpt_trader_coinbase_sim.shapes import STATUS, fill_json, order_json
from gpt_trader_coinbase_sim.state import STATE, SimState
from gpt_trader_coinbase_sim.venue import INSUFFICIENT_FUNDS, NO_LIQUIDITY, rejection_for
from gpt_trader_coinbase_sim.wire import (
    dec,
    dec_n,
    parse_decimal,
    parse_rfc3339,
    q_int,
    q_list,
    rfc3339,
)

MAX_BATCH_CANCEL = 100
ORDERS_LIMIT_MAX = 1000
ZERO = Decimal(0)
UNKNOWN_PREVIEW = "UNKNOWN_PREVIEW_FAILURE_REASON"
TIF_FILTER = {
    "GOOD_UNTIL_CANCELLED": TimeInForce.GTC,
    "GOOD_UNTIL_DATE_TIME": TimeInForce.GTD,
    "IMMEDIATE_OR_CANCEL": TimeInForce.IOC,
    "FILL_OR_KILL": TimeInForce.FOK,
}


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


# -- building the domain request -------------------------------------------------------------


def to_request(state: SimState, po: ParsedOrder) -> OrderRequest:
    """The domain OrderRequest. A quote-sized market order is sized in base from the book as
    it stands: a BUY gets what the quote less fees buys (filled value + fees <= quote_size:
    Coinbase takes the fee out of the quote), a SELL sells what is worth the quote before
    fees; in contracts on a future. Rounded down to the base increment. A spot BUY whose quote
    is more than the cash available is refused, as Coinbase holds the whole quote."""
    size = po.size
    if size is None:
        assert po.quote_size is not None
        bids, asks = state.book(po.product.symbol, 1)
        if not (asks if po.side == "BUY" else bids):
            raise OrderRejected(NO_LIQUIDITY)
        if po.side == "BUY":
            # Coinbase holds the whole quote of a quote-sized buy, however much of it the book
            # can fill now: the quote is checked against the cash, not the sized-down order.
            cash = state.venue.spendable(po.product.symbol)
            if cash is not None and cash < po.quote_size:
                raise OrderRejected(INSUFFICIENT_FUNDS)
        size = state.venue.size_for_quote(po.product.symbol, po.side, po.quote_size)
        if size < po.product.base_min_size:
            raise OrderRejected(
                Rejection(
                    preview_failure_reason="PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
                    message="quote_size buys less than the minimum base size",
                )
            )
    return OrderRequest(
        client_order_id=po.client_order_id,
        symbol=po.product.symbol,
        side=po.side,
        size=size,
        order_type=po.order_type,
        limit_price=po.limit_price,
        stop_price=po.stop_price,
        time_in_force=po.tif,
        post_only=po.post_only,
        end_ts=po.end_ts,
        reduce_only=po.reduce_only,
        leverage=parse_decimal(po.leverage) if po.leverage else None,
    )


def _failure(rej: Rejection, config: Any) -> dict[str, Any]:
    return {
        "success": False,
        "error_response": rej.error_response(),
        "order_configuration": echo_config(config),
    }


def _success(order: Order, config: Any) -> dict[str, Any]:
    return {
        "success": True,
        "success_response": {
            "order_id": order.order_id,
            "product_id": order.symbol,
            "side": str(order.side),
            "client_order_id": order.client_order_id,
        },
        "order_configuration": echo_config(config),
    }


async def create_order(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    if isinstance(body, dict):
        check_top_level(body)  # a malformed request is refused before any id lookup
        state.submits.append(body)
        coid = body.get("client_order_id")
        # A reused client_order_id returns the original order, whatever the new body says.
        if isinstance(coid, str) and coid:
            existing = state.venue.order_by_client_id(coid)
            if existing is not None:
                meta = state.metas.get(existing.order_id)
                echo = meta.configuration() if meta else body.get("order_configuration")
                if existing.status is OrderStatus.REJECTED:
                    return json_ok(_failure(rejection_for(existing.reject_reason), echo))
                return json_ok(_success(existing, echo))
    config = body.get("order_configuration") if isinstance(body, dict) else None
    try:
        po = parse_order(body, state.products, now_ns=state.clock.now_ns())
        req = to_request(state, po)
    except OrderRejected as e:
        return json_ok(_failure(e.rejection, config))
    # The meta must exist before the venue tells the user channel about the order.
    state.metas.put(po.meta(state.venue.order_id_for(req.symbol, req.client_order_id)))
    result = state.venue.submit(req, margin_type=po.margin_type)
    if result.rejection is not None:
        return json_ok(_failure(result.rejection, config))
    return json_ok(_success(result.order, {po.kind: po.echo}))


# -- preview ----------------------------------------------------------------------------------


async def preview_order(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    errs: list[str] = []
    po: ParsedOrder | None = None
    req: OrderRequest | None = None
    try:
        po = parse_order(body, state.products, now_ns=state.clock.now_ns(), need_client_id=False)
        req = to_request(state, po)
    except OrderRejected as e:
        errs.append(_preview_reason(e.rejection))
    symbol = body.get("product_id") if isinstance(body, dict) else None
    bids, asks = state.book(symbol, 1) if symbol in state.products else ([], [])
    best_bid = dec(bids[0][0]) if bids else ""
    best_ask = dec(asks[0][0]) if asks else ""
    base = quote = commission = total = slippage = ZERO
    margin = leverage = ""
    if po is not None and req is not None:
        est = state.venue.estimate(req, margin_type=po.margin_type)
        if est.rejection is not None:
            errs.append(_preview_reason(est.rejection))
        base, quote, commission = req.size, est.quote, est.commission
        total = quote + commission if req.side == "BUY" else quote - commission
        slippage = est.slippage
        spec = state.venue.spec(req.symbol)
        if spec is not None and est.quote:
            lev = req.leverage or spec.terms.default_leverage
            rate = spec.terms.overnight.for_sign(req.side.sign)
            im_rate = max(rate, 1 / lev) if lev else rate
            margin = dec_n((est.quote * im_rate).quantize(Decimal("0.01")))
            leverage = dec_n((1 / im_rate).quantize(Decimal("0.01")))
    return json_ok(
        {
            "order_total": dec_n(total),
            "commission_total": dec_n(commission),
            "errs": errs,
            "warning": [],
            "quote_size": dec_n(quote),
            "base_size": dec_n(base),
            "best_bid": best_bid,
            "best_ask": best_ask,
            "is_max": False,
            "order_margin_total": margin,
            "leverage": leverage,
            "long_leverage": "",
            "short_leverage": "",
            "slippage": dec_n(slippage),
            "preview_id": str(uuid.uuid4()),
        }
    )


def _preview_reason(rej: Rejection) -> str:
    if rej.preview_failure_reason != UNKNOWN_PREVIEW:
        return rej.preview_failure_reason
    return f"PREVIEW_{rej.new_order_failure_reason}"


# -- edit -------------------------------------------------------------------------------------


def _edit_args(state: SimState, body: Any) -> tuple[Order, Decimal | None, Decimal]:
    """Validate an edit body; raises _EditFailed with the venue's reasons."""
    if not isinstance(body, dict) or not isinstance(body.get("order_id"), str):
        raise invalid_argument("invalid OrderId None passed to endpoint")
    order = state.venue.order(body["order_id"])
    if order is None:
        raise _EditFailed("ORDER_NOT_FOUND")
    meta = state.metas.get(order.order_id)
    if meta is not None and meta.size_in_quote:
        raise _EditFailed("SIZE_IN_QUOTE_EDITS_NOT_ALLOWED")
    try:
        price = parse_decimal(body["price"]) if body.get("price") not in (None, "") else None
    except ValueError as e:
        raise _EditFailed("INVALID_EDITED_PRICE") from e
    try:
        # Omitting size reads as 0 on the venue (coinbase-api.md §3.7).
        size = parse_decimal(body["size"]) if body.get("size") not in (None, "") else ZERO
    except ValueError as e:
        raise _EditFailed("INVALID_EDITED_SIZE") from e
    reason = state.venue.edit_error(order.order_id, price=price, size=size)
    if reason:
        raise _EditFailed(reason)
    return order, price, size


class _EditFailed(Exception):
    def __init__(self, edit_reason: str, preview_reason: str = UNKNOWN_PREVIEW) -> None:
        super().__init__(edit_reason)
        self.errors = [
            {"edit_failure_reason": edit_reason, "preview_failure_reason": preview_reason}
        ]


async def edit_order(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    try:
        order, price, size = _edit_args(state, body)
        failed = state.venue.edit(order.order_id, price=price, size=size)
        if failed:
            raise _EditFailed(*failed)
    except _EditFailed as e:
        return json_ok({"success": False, "errors": e.errors})
    meta = state.metas.get(order.order_id)
    if meta is not None:
        new_price = price if price is not None else order.limit_price
        meta.edit_history.append(
            {
                "price": dec(new_price),
                "size": dec(size),
                "replace_accept_timestamp": rfc3339(state.clock.now_ns()),
            }
        )
        if "limit_price" in meta.config and new_price is not None:
            meta.config["limit_price"] = dec(new_price)
        if "base_size" in meta.config:
            meta.config["base_size"] = dec(size)
    return json_ok({"success": True, "errors": []})


async def edit_preview(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    try:
        order, price, size = _edit_args(state, body)
    except _EditFailed as e:
        return json_ok({"errors": e.errors})
    limit = price if price is not None else order.limit_price or ZERO
    quote = size * limit
    cents = currency_increment(state.products[order.symbol].quote)
    commission = fee_amount(quote, state.venue.maker_fee, cents).normalize()
    bids, asks = state.book(order.symbol, 1)
    return json_ok(
        {
            "errors": [],
            "slippage": "0",
            "order_total": dec_n(quote + commission if order.side == "BUY" else quote - commission),
            "commission_total": dec_n(commission),
            "quote_size": dec_n(quote),
            "base_size": dec_n(size),
            "best_bid": dec(bids[0][0]) if bids else "",
            "best_ask": dec(asks[0][0]) if asks else "",
            "average_filled_price": dec_n(order.avg_fill_price),
        }
    )


# -- cancel -----------------------------------------------------------------------------------


async def batch_cancel(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    ids = body.get("order_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid_argument("order_ids must be a list of order ids")
    if len(ids) > MAX_BATCH_CANCEL:
        raise invalid_argument(f"at most {MAX_BATCH_CANCEL} order_ids per request")
    results = []
    for oid in ids:
        reason = state.venue.cancel(oid)
        meta = state.metas.get(oid)
        if not reason and meta is not None:
            meta.cancel_message = "User requested cancel"
        results.append(
            {
                "success": not reason,
                "failure_reason": reason or "UNKNOWN_CANCEL_FAILURE_REASON",
                "order_id": oid,
            }
        )
    return json_ok({"results": results})


# -- lookups ----------------------------------------------------------------------------------


def _order_reply(state: SimState, order: Order) -> dict[str, Any]:
    return order_json(
        order,
        state.metas.get(order.order_id),
        state.ident,
        product_type=state.product_type(order.symbol),
        value=state.venue.filled_value(order),
        hold=state.venue.hold(order),
    )


async def get_order(request: web.Request) -> web.Response:
    state = _state(request)
    oid = request.match_info["order_id"]
    order = state.venue.order(oid)
    if order is None:
        coid = request.query.get("client_order_id")
        order = state.venue.order_by_client_id(coid) if coid else None
    if order is None:
        raise not_found("order with this orderID was not found")
    return json_ok({"order": _order_reply(state, order)})


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        pad = "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(cursor + pad).decode())
    except (ValueError, UnicodeDecodeError) as e:
        raise invalid_argument("invalid cursor") from e
    if value < 0:
        raise invalid_argument("invalid cursor")
    return value


def page(items: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], bool, str]:
    """Cursor paging over a stable list: ``(page, has_next, next_cursor)``."""
    start = _offset(cursor)
    chunk = items[start : start + limit]
    has_next = start + limit < len(items)
    return chunk, has_next, _cursor(start + limit) if has_next else ""


def _time_filter(q: Any, key: str) -> int | None:
    raw = q.get(key)
    if not raw:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as e:
        raise invalid_argument(f"{key} must be an RFC3339 time") from e


async def list_orders(request: web.Request) -> web.Response:
    state = _state(request)
    q = request.query
    try:
        limit = min(q_int(q, "limit", 100, lo=1) or 100, ORDERS_LIMIT_MAX)
    except ValueError as e:
        raise invalid_argument(str(e)) from e
    ids = set(q_list(q, "order_ids"))
    products = set(q_list(q, "product_ids"))
    statuses = set(q_list(q, "order_status"))
    types = set(q_list(q, "order_types"))
    sides = set(q_list(q, "order_side"))
    tifs = {TIF_FILTER[t] for t in q_list(q, "time_in_forces") if t in TIF_FILTER}
    start, end = _time_filter(q, "start_date"), _time_filter(q, "end_date")
    unknown = statuses - set(STATUS.values()) - {"QUEUED", "CANCEL_QUEUED", "EDIT_QUEUED"}
    if unknown:
        raise invalid_argument(f"invalid order_status {sorted(unknown)[0]!r}")

    def keep(o: Order) -> bool:
        return (
            (not ids or o.order_id in ids)
            and (not products or o.symbol in products)
            and (not statuses or STATUS[o.status] in statuses)
            and (not types or str(o.order_type) in types)
            and (not sides or str(o.side) in sides)
            and (not tifs or o.time_in_force in tifs)
            and (start is None or o.created_ts >= start)
            and (end is None or o.created_ts <= end)
        )

    matching = [o for o in state.venue.orders() if keep(o)]
    chunk, has_next, cursor = page(matching, limit, q.get("cursor"))
    return json_ok(
        {
            "orders": [_order_reply(state, o) for o in chunk],
            "sequence": "0",
            "has_next": has_next,
            "cursor": cursor,
        }
    )


async def list_fills(request: web.Request) -> web.Response:
    state = _state(request)
    q = request.query
    try:
        limit = min(q_int(q, "limit", 100, lo=1) or 100, ORDERS_LIMIT_MAX)
    except ValueError as e:
        raise invalid_argument(str(e)) from e
    ids = set(q_list(q, "order_ids"))
    trades = set(q_list(q, "trade_ids"))
    products = set(q_list(q, "product_ids"))
    start = _time_filter(q, "start_sequence_timestamp")
    end = _time_filter(q, "end_sequence_timestamp")
    fills = [
        f
        for f in state.venue.fills()
        if (not ids or f.order_id in ids)
        and (not trades or f.trade_id in trades)
        and (not products or f.symbol in products)
        and (start is None or f.ts >= start)
        and (end is None or f.ts <= end)
    ]
    chunk, _, cursor = page(fills, limit, q.get("cursor"))
    out = []
    for f in chunk:
        meta = state.metas.get(f.order_id)
        out.append(fill_json(f, state.ident, size_in_quote=bool(meta and meta.size_in_quote)))
    return json_ok({"fills": out, "cursor": cursor})


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/orders", create_order),
        web.post(f"{PREFIX}/orders/preview", preview_order),
        web.post(f"{PREFIX}/orders/edit", edit_order),
        web.post(f"{PREFIX}/orders/edit_preview", edit_preview),
        web.post(f"{PREFIX}/orders/batch_cancel", batch_cancel),
        # batch and fills before {order_id}: aiohttp matches in registration order
        web.get(f"{PREFIX}/orders/historical/batch", list_orders),
        web.get(f"{PREFIX}/orders/historical/fills", list_fills),
        web.get(f"{PREFIX}/orders/historical/{{order_id}}", get_order),
    ]


__all__ = ["routes"]
