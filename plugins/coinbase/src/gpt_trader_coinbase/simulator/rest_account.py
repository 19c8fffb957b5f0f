"""REST account data: accounts, fees summary, key permissions, portfolios, CFM summaries.

One simulated user with one DEFAULT portfolio; spot only, so the CFM endpoints answer with
well-formed zero balances and no positions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from gpt_trader_coinbase.simulator.errors import invalid_argument, not_found
from gpt_trader_coinbase.simulator.middleware import PREFIX, PRINCIPAL, json_ok
from gpt_trader_coinbase.simulator.rest_orders import page
from gpt_trader_coinbase.simulator.shapes import account_json
from gpt_trader_coinbase.simulator.state import STATE, SimState
from gpt_trader_coinbase.simulator.wire import dec, now_ns, q_int

ACCOUNTS_DEFAULT_LIMIT = 49
ACCOUNTS_MAX_LIMIT = 250
ZERO = Decimal(0)


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


def _accounts(state: SimState) -> list[dict[str, Any]]:
    t = now_ns()
    return [account_json(b, state.ident, t) for b in state.venue.balances()]


async def list_accounts(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        limit = q_int(request.query, "limit", ACCOUNTS_DEFAULT_LIMIT, lo=1)
    except ValueError as e:
        raise invalid_argument(str(e)) from e
    limit = min(limit or ACCOUNTS_DEFAULT_LIMIT, ACCOUNTS_MAX_LIMIT)
    accounts = _accounts(state)
    chunk, has_next, cursor = page(accounts, limit, request.query.get("cursor"))
    return json_ok({"accounts": chunk, "has_next": has_next, "cursor": cursor, "size": len(chunk)})


async def get_account(request: web.Request) -> web.Response:
    state = _state(request)
    uid = request.match_info["account_uuid"]
    for acc in _accounts(state):
        if acc["uuid"] == uid:
            return json_ok({"account": acc})
    raise not_found("account not found")


async def transaction_summary(request: web.Request) -> web.Response:
    state = _state(request)
    fills = state.venue.fills()
    volume = sum((f.price * f.size for f in fills), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    total = sum((b.total for b in state.venue.balances() if b.currency == "USD"), ZERO)
    return json_ok(
        {
            # JSON numbers here (doubles on the wire), unlike almost everywhere else
            "total_volume": float(volume),
            "total_fees": float(fees),
            "fee_tier": {
                "pricing_tier": "Advanced 1",
                "usd_from": "0",
                "usd_to": "10000",
                "taker_fee_rate": dec(state.venue.taker_fee),
                "maker_fee_rate": dec(state.venue.maker_fee),
                "aop_from": "",
                "aop_to": "",
            },
            "margin_rate": None,
            "goods_and_services_tax": None,
            "advanced_trade_only_volume": float(volume),
            "advanced_trade_only_fees": float(fees),
            "coinbase_pro_volume": 0.0,
            "coinbase_pro_fees": 0.0,
            "total_balance": dec(total),
            "has_promo_fee": False,
        }
    )


async def key_permissions(request: web.Request) -> web.Response:
    state = _state(request)
    key = request[PRINCIPAL].key
    return json_ok(
        {
            "can_view": key.can_view,
            "can_trade": key.can_trade,
            "can_transfer": key.can_transfer,
            "portfolio_uuid": key.portfolio_uuid or state.ident.portfolio_uuid,
            "portfolio_type": "DEFAULT",
        }
    )


def _portfolio(state: SimState) -> dict[str, Any]:
    return {
        "name": "Default",
        "uuid": state.ident.portfolio_uuid,
        "type": "DEFAULT",
        "deleted": False,
    }


async def list_portfolios(request: web.Request) -> web.Response:
    ptype = request.query.get("portfolio_type", "")
    if ptype not in ("", "DEFAULT", "UNDEFINED"):
        return json_ok({"portfolios": []})
    return json_ok({"portfolios": [_portfolio(_state(request))]})


async def portfolio_breakdown(request: web.Request) -> web.Response:
    state = _state(request)
    if request.match_info["portfolio_uuid"] != state.ident.portfolio_uuid:
        raise not_found("portfolio not found")
    positions = []
    total = ZERO
    for b in state.venue.balances():
        price = Decimal(1) if b.currency == "USD" else _usd_price(state, b.currency)
        fiat = b.total * price
        total += fiat
        positions.append(
            {
                "asset": b.currency,
                "account_uuid": state.ident.account_uuid(b.currency),
                "total_balance_fiat": float(fiat),
                "total_balance_crypto": float(b.total),
                "available_to_trade_fiat": float(b.available * price),
                "allocation": 0.0,
                "cost_basis": {"value": "0", "currency": "USD"},
                "asset_img_url": "",
                "is_cash": b.currency == "USD",
            }
        )
    for pos in positions:
        pos["allocation"] = pos["total_balance_fiat"] / float(total) if total else 0.0
    usd = {"value": dec(total.quantize(Decimal("0.01"))), "currency": "USD"}
    zero = {"value": "0", "currency": "USD"}
    return json_ok(
        {
            "breakdown": {
                "portfolio": _portfolio(state),
                "portfolio_balances": {
                    "total_balance": usd,
                    "total_futures_balance": zero,
                    "total_cash_equivalent_balance": zero,
                    "total_crypto_balance": zero,
                    "futures_unrealized_pnl": zero,
                    "perp_unrealized_pnl": zero,
                },
                "spot_positions": positions,
                "perp_positions": [],
                "futures_positions": [],
            }
        }
    )


def _usd_price(state: SimState, currency: str) -> Decimal:
    m = state.markets.get(f"{currency}-USD")
    return m.price if m is not None else ZERO


def _money(value: Decimal) -> dict[str, str]:
    return {"value": dec(value), "currency": "USD"}


async def cfm_balance_summary(request: web.Request) -> web.Response:
    state = _state(request)
    usd = state.venue.cash("USD")
    measure = {
        "margin_window_type": "FCM_MARGIN_WINDOW_TYPE_INTRADAY",
        "margin_level": "MARGIN_LEVEL_TYPE_BASE",
        "initial_margin": "0",
        "maintenance_margin": "0",
        "liquidation_buffer_percentage": "0",
        "total_hold": "0",
        "futures_buying_power": "0",
    }
    return json_ok(
        {
            "balance_summary": {
                "futures_buying_power": _money(ZERO),
                "total_usd_balance": _money(usd),
                "cbi_usd_balance": _money(usd),
                "cfm_usd_balance": _money(ZERO),
                "total_open_orders_hold_amount": _money(ZERO),
                "unrealized_pnl": _money(ZERO),
                "daily_realized_pnl": _money(ZERO),
                "initial_margin": _money(ZERO),
                "available_margin": _money(ZERO),
                "liquidation_threshold": _money(ZERO),
                "liquidation_buffer_amount": _money(ZERO),
                "liquidation_buffer_percentage": "0",
                "intraday_margin_window_measure": measure,
                "overnight_margin_window_measure": {
                    **measure,
                    "margin_window_type": "FCM_MARGIN_WINDOW_TYPE_OVERNIGHT",
                },
            }
        }
    )


async def cfm_positions(request: web.Request) -> web.Response:
    return json_ok({"positions": []})


async def cfm_position(request: web.Request) -> web.Response:
    raise not_found("position not found")


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/accounts", list_accounts),
        web.get(f"{PREFIX}/accounts/{{account_uuid}}", get_account),
        web.get(f"{PREFIX}/transaction_summary", transaction_summary),
        web.get(f"{PREFIX}/key_permissions", key_permissions),
        web.get(f"{PREFIX}/portfolios", list_portfolios),
        web.get(f"{PREFIX}/portfolios/{{portfolio_uuid}}", portfolio_breakdown),
        web.get(f"{PREFIX}/cfm/balance_summary", cfm_balance_summary),
        web.get(f"{PREFIX}/cfm/positions", cfm_positions),
        web.get(f"{PREFIX}/cfm/positions/{{product_id}}", cfm_position),
    ]
