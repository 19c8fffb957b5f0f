"""The aiohttp application: routes and middlewares around one SimState."""

from __future__ import annotations

from aiohttp import web

from gpt_trader_coinbase_sim import (
    admin,
    rest_account,
    rest_cfm,
    rest_intx,
    rest_market,
    rest_orders,
    ws,
)
from gpt_trader_coinbase_sim.middleware import auth_mw, errors_mw, faults_mw
from gpt_trader_coinbase_sim.persist import persist_mw
from gpt_trader_coinbase_sim.state import STATE, SimState
from gpt_trader_coinbase_sim.ws import HUB, Hub

# Order bodies are tiny; anything bigger is a client bug or abuse.
MAX_BODY = 1 << 20


def build_app(state: SimState, hub: Hub) -> web.Application:
    app = web.Application(
        middlewares=[persist_mw, admin.admin_guard, errors_mw, faults_mw, auth_mw],
        client_max_size=MAX_BODY,
    )
    app[STATE] = state
    app[HUB] = hub
    app.add_routes(rest_market.routes())
    app.add_routes(rest_orders.routes())
    app.add_routes(rest_account.routes())
    app.add_routes(rest_cfm.routes())
    app.add_routes(rest_intx.routes())
    app.add_routes(ws.routes())
    app.add_routes(admin.routes())
    return app
