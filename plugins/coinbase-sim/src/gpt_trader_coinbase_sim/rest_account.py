"""REST account data: accounts, fees summary, key permissions, portfolios.

One simulated user with one DEFAULT portfolio, plus an INTX portfolio when the venue trades
INTX perpetuals. The CFM and INTX endpoints are in rest_cfm / rest_intx.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from gpt_trader_coinbase_sim.catalogue import FCM, INTX
from gpt_trader_coinbase_sim.errors import invalid_argument, not_found
from gpt_trader_coinbase_sim.middleware import PREFIX, PRINCIPAL, json_ok
from gpt_trader_coinbase_sim.rest_intx import has_intx
from gpt_trader_coinbase_sim.rest_orders import page
from gpt_trader_coinbase_sim.shapes import account_json
from gpt_trader_coinbase_sim.shapes_derivatives import money
from gpt_trader_coinbase_sim.state import STATE, SimState
from gpt_trader_coinbase_sim.summaries import pool_summary
from gpt_trader_coinbase_sim.wire import dec, q_int

ACCOUNTS_DEFAULT_LIMIT = 49
ACCOUNTS_MAX_LIMIT = 250
ZERO = Decimal(0)


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


def _accounts(state: SimState) -> list[dict[str, Any]]:
    t = state.clock.now_ns()
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


def _intx_portfolio(state: SimState) -> dict[str, Any]:
    return {
        "name": "Perpetuals",
        "uuid": state.ident.intx_portfolio_uuid,
        "type": "INTX",
        "deleted": False,
    }


async def list_portfolios(request: web.Request) -> web.Response:
    state = _state(request)
    ptype = request.query.get("portfolio_type", "")
    out = []
    if ptype in ("", "DEFAULT", "UNDEFINED"):
        out.append(_portfolio(state))
    if ptype in ("", "INTX", "UNDEFINED") and has_intx(state):
        out.append(_intx_portfolio(state))
    return json_ok({"portfolios": out})


async def portfolio_breakdown(request: web.Request) -> web.Response:
    state = _state(request)
    if request.match_info["portfolio_uuid"] != state.ident.portfolio_uuid:
        raise not_found("portfolio not found")
    positions = []
    total = ZERO
    for b in state.venue.balances():
        # USDC is worth a dollar: Coinbase trades it 1:1 in the USD books it aliases
        price = Decimal(1) if b.currency in ("USD", "USDC") else _usd_price(state, b.currency)
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
    zero = {"value": "0", "currency": "USD"}
    futures_balance = futures_upnl = perp_upnl = ZERO
    deriv = state.venue.derivatives
    if deriv is not None:
        now = state.clock.now_ns()
        if FCM in deriv.accounts():
            fcm = pool_summary(deriv, FCM, now)
            futures_balance, futures_upnl = fcm.total_balance, fcm.unrealized_pnl
        if INTX in deriv.accounts():
            perp_upnl = pool_summary(deriv, INTX, now).unrealized_pnl
    total += futures_balance
    usd = {"value": dec(total.quantize(Decimal("0.01"))), "currency": "USD"}
    return json_ok(
        {
            "breakdown": {
                "portfolio": _portfolio(state),
                "portfolio_balances": {
                    "total_balance": usd,
                    "total_futures_balance": money(futures_balance, "USD"),
                    "total_cash_equivalent_balance": zero,
                    "total_crypto_balance": zero,
                    "futures_unrealized_pnl": money(futures_upnl, "USD"),
                    "perp_unrealized_pnl": money(perp_upnl, "USD"),
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


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/accounts", list_accounts),
        web.get(f"{PREFIX}/accounts/{{account_uuid}}", get_account),
        web.get(f"{PREFIX}/transaction_summary", transaction_summary),
        web.get(f"{PREFIX}/key_permissions", key_permissions),
        web.get(f"{PREFIX}/portfolios", list_portfolios),
        web.get(f"{PREFIX}/portfolios/{{portfolio_uuid}}", portfolio_breakdown),
    ]
