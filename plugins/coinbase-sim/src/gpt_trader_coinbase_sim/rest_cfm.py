"""REST: CFM (US futures) account endpoints and close_position (coinbase-api.md §2, §3.10).

Balance summary and positions come from the venue's margin ledger (real numbers: cash,
unrealised and daily realised P&L, initial/maintenance margin in both windows, holds).
Sweeps move CFM cash to spot USD at the next 22:00 UTC (one pending at a time: a second
schedule answers ``success: false``). The intraday margin setting opts the account in to
intraday rates; the current window is the CFM schedule of the catalogue (see
gpt_trader_coinbase_sim.catalogue).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web
from gpt_trader.domain import OrderRequest, OrderType, Side, TimeInForce

from gpt_trader_coinbase_sim.catalogue import FCM, IntradaySetting
from gpt_trader_coinbase_sim.errors import invalid_argument, not_found
from gpt_trader_coinbase_sim.middleware import PREFIX, json_ok, read_json
from gpt_trader_coinbase_sim.orderconfig import Rejection
from gpt_trader_coinbase_sim.ordermeta import OrderMeta
from gpt_trader_coinbase_sim.shapes_derivatives import (
    DerivativeMarket,
    cfm_position_json,
    fcm_fields,
    future_product_details,
    margin_window_json,
    session_details,
    sweep_json,
)
from gpt_trader_coinbase_sim.state import STATE, SimState
from gpt_trader_coinbase_sim.venue import rejection_for
from gpt_trader_coinbase_sim.wire import dec, parse_decimal

ZERO = Decimal(0)
SETTINGS = {s.value for s in IntradaySetting} | {"INTRADAY_MARGIN_SETTING_UNSPECIFIED"}


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


# -- shared with the product and WebSocket code ------------------------------------------------


def product_extras(state: SimState, symbol: str) -> dict[str, Any]:
    """``product_json`` keyword arguments for a derivative product ({} for spot)."""
    venue = state.venue
    spec = venue.spec(symbol)
    deriv = venue.derivatives
    if spec is None or deriv is None:
        return {}
    now = state.clock.now_ns()
    product = venue.products[symbol]
    last = state.markets[symbol].price if symbol in state.markets else ZERO
    market = DerivativeMarket(
        funding_rate=deriv.funding_rate(symbol),
        next_funding_ts=deriv.next_funding_ts(symbol, now),
        open_interest=abs(deriv.position(symbol).size),
        settlement_price=last,
        index_price=last,
    )
    return {
        "spec": spec,
        "future_details": future_product_details(spec, product, market),
        "session": session_details(spec, now, deriv.is_expired(symbol)),
    }


# -- handlers -----------------------------------------------------------------------------------


async def balance_summary(request: web.Request) -> web.Response:
    state = _state(request)
    state.venue.advance()
    return json_ok({"balance_summary": fcm_fields(state.venue, rest=True)})


async def list_positions(request: web.Request) -> web.Response:
    state = _state(request)
    state.venue.advance()
    deriv = state.venue.derivatives
    views = [] if deriv is None else deriv.open_positions(state.clock.now_ns(), FCM)
    return json_ok({"positions": [cfm_position_json(v) for v in views]})


async def get_position(request: web.Request) -> web.Response:
    state = _state(request)
    state.venue.advance()
    symbol = request.match_info["product_id"]
    spec = state.venue.spec(symbol)
    deriv = state.venue.derivatives
    if spec is None or deriv is None or spec.account != FCM:
        raise not_found("valid product_id is required")
    view = deriv.position_view(symbol, state.clock.now_ns())
    if view.size == 0:
        raise not_found("position not found")
    return json_ok({"position": cfm_position_json(view)})


async def schedule_sweep(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    raw = body.get("usd_amount") if isinstance(body, dict) else None
    amount: Decimal | None = None
    if raw not in (None, ""):
        try:
            amount = parse_decimal(raw)
        except ValueError as e:
            raise invalid_argument(f"invalid usd_amount: {e}") from e
        if amount <= 0:
            raise invalid_argument("usd_amount must be positive")
    if state.venue.derivatives is None:
        return json_ok({"success": False})
    sweep = state.venue.schedule_sweep(amount)
    return json_ok({"success": sweep is not None})


async def list_sweeps(request: web.Request) -> web.Response:
    state = _state(request)
    state.venue.advance()
    deriv = state.venue.derivatives
    pending = [] if deriv is None else state.venue.sweeps.pending()
    return json_ok({"sweeps": [sweep_json(s) for s in pending]})


async def cancel_sweep(request: web.Request) -> web.Response:
    state = _state(request)
    if state.venue.derivatives is None:
        return json_ok({"success": False})
    return json_ok({"success": state.venue.cancel_sweep()})


async def get_margin_setting(request: web.Request) -> web.Response:
    setting = _state(request).venue.intraday_setting()
    return json_ok({"setting": setting.value})


async def set_margin_setting(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    setting = body.get("setting") if isinstance(body, dict) else None
    if setting not in SETTINGS:
        raise invalid_argument(f"invalid setting {setting!r}")
    if setting == "INTRADAY_MARGIN_SETTING_UNSPECIFIED":
        setting = IntradaySetting.STANDARD.value
    state.venue.set_intraday_setting(IntradaySetting(setting))
    return json_ok({})


async def current_margin_window(request: web.Request) -> web.Response:
    return json_ok(margin_window_json(_state(request).clock.now_ns()))


# -- close position (CFM and INTX) ------------------------------------------------------------


def _close_failure(message: str) -> dict[str, Any]:
    rej = Rejection(preview_failure_reason="PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", message=message)
    return {"success": False, "error_response": rej.error_response(), "order_configuration": {}}


async def close_position(request: web.Request) -> web.Response:
    """A market order that closes the position (all of it, or ``size`` contracts)."""
    state = _state(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid_argument("request body must be a JSON object")
    coid = body.get("client_order_id")
    if not isinstance(coid, str) or not coid.strip():
        raise invalid_argument("client_order_id is required")
    symbol = body.get("product_id")
    deriv = state.venue.derivatives
    if not isinstance(symbol, str) or deriv is None or not deriv.handles(symbol):
        raise invalid_argument("ProductID is invalid")
    existing = state.venue.order_by_client_id(coid)
    position = deriv.position(symbol).size
    size = abs(position)
    if body.get("size") not in (None, ""):
        try:
            size = min(size, parse_decimal(body["size"]))
        except ValueError as e:
            raise invalid_argument(f"invalid size: {e}") from e
    if existing is None and (position == 0 or size <= 0):
        return json_ok(_close_failure("no open position to close"))
    side = Side.SELL if position > 0 else Side.BUY
    config = {"market_market_ioc": {"base_size": dec(size)}}
    req = OrderRequest(
        client_order_id=coid,
        symbol=symbol,
        side=side,
        size=size,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
    )
    order_id = state.venue.order_id_for(symbol, coid)
    if existing is None:
        state.metas.put(OrderMeta(order_id, "market_market_ioc", dict(config["market_market_ioc"])))
    result = state.venue.submit(req)
    if result.rejection is not None:
        return json_ok(
            {
                "success": False,
                "error_response": rejection_for(result.order.reject_reason).error_response(),
                "order_configuration": config,
            }
        )
    return json_ok(
        {
            "success": True,
            "success_response": {
                "order_id": result.order.order_id,
                "product_id": symbol,
                "side": str(result.order.side),
                "client_order_id": coid,
            },
            "order_configuration": config,
        }
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/cfm/balance_summary", balance_summary),
        web.get(f"{PREFIX}/cfm/positions", list_positions),
        web.get(f"{PREFIX}/cfm/positions/{{product_id}}", get_position),
        web.post(f"{PREFIX}/cfm/sweeps/schedule", schedule_sweep),
        web.get(f"{PREFIX}/cfm/sweeps", list_sweeps),
        web.delete(f"{PREFIX}/cfm/sweeps", cancel_sweep),
        web.get(f"{PREFIX}/cfm/intraday/margin_setting", get_margin_setting),
        web.post(f"{PREFIX}/cfm/intraday/margin_setting", set_margin_setting),
        web.get(f"{PREFIX}/cfm/intraday/current_margin_window", current_margin_window),
        web.post(f"{PREFIX}/orders/close_position", close_position),
    ]


__all__ = ["product_extras", "routes"]
