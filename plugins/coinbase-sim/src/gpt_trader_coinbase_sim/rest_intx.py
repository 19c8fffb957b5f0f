"""REST: INTX perpetuals portfolio endpoints (coinbase-api.md §2, §3.11).

One INTX portfolio per user (``Identity.intx_portfolio_uuid``, listed by GET /portfolios as
type INTX when the venue trades INTX products); other uuids are 404. Figures come from the
venue's margin ledger (USDC pool). ``allocate`` moves collateral into an open ISOLATED
position's margin. Multi-asset collateral is a stored flag only (the sim portfolio holds
USDC alone); its reply carries both ``multi_asset_collateral_enabled`` (docs) and
``cross_collateral_enabled`` (the SDK's type).
"""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web
from gpt_trader.domain import Side
from gpt_trader.sim import DerivativesLedger

from gpt_trader_coinbase_sim.catalogue import INTX
from gpt_trader_coinbase_sim.errors import invalid_argument, not_found
from gpt_trader_coinbase_sim.middleware import PREFIX, json_ok, read_json
from gpt_trader_coinbase_sim.shapes_derivatives import (
    intx_balance_json,
    intx_portfolio_json,
    intx_position_json,
    intx_summary_json,
    money,
)
from gpt_trader_coinbase_sim.state import STATE, SimState
from gpt_trader_coinbase_sim.summaries import pool_summary
from gpt_trader_coinbase_sim.wire import parse_decimal

ZERO = Decimal(0)


def _state(request: web.Request) -> SimState:
    return request.app[STATE]


def has_intx(state: SimState) -> bool:
    deriv = state.venue.derivatives
    return deriv is not None and INTX in deriv.accounts()


def _ledger(request: web.Request, uuid_key: str = "portfolio_uuid") -> DerivativesLedger:
    state = _state(request)
    deriv = state.venue.derivatives
    if (
        deriv is None
        or INTX not in deriv.accounts()
        or request.match_info.get(uuid_key) != state.ident.intx_portfolio_uuid
    ):
        raise not_found("portfolio not found")
    state.venue.advance()
    return deriv


def _flags(deriv: DerivativesLedger) -> str:
    if deriv.multi_asset_collateral:
        return "PORTFOLIO_MARGIN_FLAGS_MULTI_ASSET_COLLATERAL"
    return "PORTFOLIO_MARGIN_FLAGS_UNSPECIFIED"


async def portfolio_summary(request: web.Request) -> web.Response:
    state = _state(request)
    deriv = _ledger(request)
    now = state.clock.now_ns()
    s = pool_summary(deriv, INTX, now)
    pid = state.ident.intx_portfolio_uuid
    return json_ok(
        {
            "portfolios": [intx_portfolio_json(s, pid, _flags(deriv))],
            "summary": intx_summary_json(s, deriv.withdrawable(INTX, now)),
        }
    )


def _positions(state: SimState, deriv: DerivativesLedger) -> list[dict[str, object]]:
    now = state.clock.now_ns()
    views = deriv.open_positions(now, INTX)
    im_total = sum((v.initial_margin for v in views), ZERO)
    pid = state.ident.intx_portfolio_uuid
    working = [o for o in state.venue.orders() if not o.status.is_terminal]
    out = []
    for v in views:
        mine = [o for o in working if o.symbol == v.symbol]
        buy = sum((o.remaining for o in mine if o.side is Side.BUY), ZERO)
        sell = sum((o.remaining for o in mine if o.side is Side.SELL), ZERO)
        out.append(intx_position_json(v, pid, buy, sell, im_total))
    return out


async def list_positions(request: web.Request) -> web.Response:
    state = _state(request)
    deriv = _ledger(request)
    positions = _positions(state, deriv)
    s = pool_summary(deriv, INTX, state.clock.now_ns())
    total = ZERO
    for v in deriv.open_positions(state.clock.now_ns(), INTX):
        total += v.realized_pnl + v.unrealized_pnl + v.funding - v.fees
    return json_ok(
        {"positions": positions, "summary": {"aggregated_pnl": money(total, s.currency)}}
    )


async def get_position(request: web.Request) -> web.Response:
    state = _state(request)
    deriv = _ledger(request)
    symbol = request.match_info["symbol"]
    for pos in _positions(state, deriv):
        if pos["symbol"] == symbol:
            return json_ok({"position": pos})
    if not deriv.handles(symbol) or deriv.terms(symbol).pool != INTX:
        raise not_found("valid symbol is required")
    raise not_found("position not found")


async def portfolio_balances(request: web.Request) -> web.Response:
    state = _state(request)
    deriv = _ledger(request)
    now = state.clock.now_ns()
    s = pool_summary(deriv, INTX, now)
    return json_ok(
        {
            "portfolio_balances": [
                {
                    "portfolio_uuid": state.ident.intx_portfolio_uuid,
                    "balances": [intx_balance_json(s, deriv.withdrawable(INTX, now))],
                    "is_margin_limit_reached": s.available_margin < 0,
                }
            ]
        }
    )


def _body_portfolio(state: SimState, body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise invalid_argument("request body must be a JSON object")
    if not has_intx(state) or body.get("portfolio_uuid") != state.ident.intx_portfolio_uuid:
        raise not_found("portfolio not found")
    return body


async def multi_asset_collateral(request: web.Request) -> web.Response:
    state = _state(request)
    body = _body_portfolio(state, await read_json(request))
    enabled = body.get("multi_asset_collateral_enabled")
    if not isinstance(enabled, bool):
        raise invalid_argument("multi_asset_collateral_enabled must be a boolean")
    deriv = state.venue.derivatives
    assert deriv is not None
    deriv.multi_asset_collateral = enabled
    return json_ok({"multi_asset_collateral_enabled": enabled, "cross_collateral_enabled": enabled})


async def allocate(request: web.Request) -> web.Response:
    state = _state(request)
    body = _body_portfolio(state, await read_json(request))
    deriv = state.venue.derivatives
    assert deriv is not None
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not deriv.handles(symbol):
        raise invalid_argument("invalid symbol")
    currency = body.get("currency")
    if currency not in (deriv.currency(INTX), "USD"):
        raise invalid_argument(f"invalid currency {currency!r}")
    try:
        amount = parse_decimal(body.get("amount"))
        state.venue.allocate(symbol, amount)
    except ValueError as e:
        raise invalid_argument(str(e)) from e
    return json_ok({})


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/intx/allocate", allocate),
        web.get(f"{PREFIX}/intx/portfolio/{{portfolio_uuid}}", portfolio_summary),
        web.get(f"{PREFIX}/intx/positions/{{portfolio_uuid}}", list_positions),
        web.get(f"{PREFIX}/intx/positions/{{portfolio_uuid}}/{{symbol}}", get_position),
        web.get(f"{PREFIX}/intx/balances/{{portfolio_uuid}}", portfolio_balances),
        web.post(f"{PREFIX}/intx/multi_asset_collateral", multi_asset_collateral),
    ]


__all__ = ["has_intx", "routes"]
