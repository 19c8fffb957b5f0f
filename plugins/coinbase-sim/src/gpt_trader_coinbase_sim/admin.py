"""Loopback admin API: change faults at run time, register keys, drop WebSocket clients.

Every call needs ``Authorization: Bearer <admin_token>`` (the token is in sim.json) and must
come from a loopback address.

    GET    /admin/status                 counters, connections, current faults
    GET    /admin/faults                 current faults + the log of injected ones
    POST   /admin/faults                 {"spec": "429=0.1,..."} or {"429": 0.1, ...}; resets streams
    DELETE /admin/faults                 no faults
    POST   /admin/keys                   {"generate": "ES256"|"EdDSA"} or {"name": ..., "public_key": PEM}
    POST   /admin/ws/drop                {"code": 1001} close every WS client (no code: abort)
    POST   /admin/clock                  {"seconds": 3600} jump the clock ahead (funding, expiry)
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from gpt_trader_coinbase_sim.faults import FaultSpecError, parse_spec
from gpt_trader_coinbase_sim.keys import generate_key, load_public_key
from gpt_trader_coinbase_sim.middleware import json_ok, read_json
from gpt_trader_coinbase_sim.state import STATE
from gpt_trader_coinbase_sim.wire import rfc3339
from gpt_trader_coinbase_sim.ws import HUB

LOG_TAIL = 1000


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


@web.middleware
async def admin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/admin"):
        return await handler(request)
    token = request.app[STATE].admin_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not _loopback(request.remote) or not hmac.compare_digest(given, token):
        return web.json_response({"error": "forbidden"}, status=403)
    return await handler(request)


async def status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_ok(
        {
            "faults": state.faults.status(),
            "ws_connections": len(request.app[HUB].conns),
            "internal_errors": state.internal_errors,
            "products": list(state.products),
            "keys": state.keys.names(),
        }
    )


async def get_faults(request: web.Request) -> web.Response:
    faults = request.app[STATE].faults
    return json_ok({**faults.status(), "log": [e.to_json() for e in list(faults.log)[-LOG_TAIL:]]})


async def set_faults(request: web.Request) -> web.Response:
    faults = request.app[STATE].faults
    body = await read_json(request)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be an object"}, status=400)
    spec: Any = body.get("spec", {k: v for k, v in body.items() if k != "spec"})
    try:
        faults.configure(parse_spec(spec))
    except FaultSpecError as e:
        return web.json_response({"error": str(e)}, status=400)
    return json_ok(faults.status())


async def clear_faults(request: web.Request) -> web.Response:
    faults = request.app[STATE].faults
    faults.configure(parse_spec(None))
    return json_ok(faults.status())


async def add_key(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await read_json(request)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be an object"}, status=400)
    try:
        if "generate" in body:
            key = generate_key(body["generate"])
            state.keys.register_key(key)
            return json_ok({"name": key.name, "privateKey": key.private_key})
        state.keys.register(str(body["name"]), load_public_key(str(body["public_key"])))
    except (KeyError, ValueError) as e:
        return web.json_response({"error": f"bad key: {e}"}, status=400)
    return json_ok({"name": body["name"]})


async def drop_ws(request: web.Request) -> web.Response:
    body = await read_json(request)
    code = body.get("code") if isinstance(body, dict) else None
    n = 0
    for conn in list(request.app[HUB].conns):
        n += 1
        if code is None:
            if conn.request.transport is not None:
                conn.request.transport.abort()
        else:
            await conn._close(int(code), b"admin")
    return json_ok({"dropped": n})


async def advance_clock(request: web.Request) -> web.Response:
    """``{"seconds": N}``: the simulator's clock jumps N seconds ahead, and what falls due
    on the way (funding, margin windows, expiries, sweeps) runs, in time order."""
    state = request.app[STATE]
    body = await read_json(request)
    try:
        seconds = float(body["seconds"]) if isinstance(body, dict) else float("nan")
        if not seconds >= 0:
            raise ValueError("seconds must be a number >= 0")
        now = state.clock.shift(seconds)
    except (KeyError, TypeError, ValueError) as e:
        return web.json_response({"error": f"bad clock advance: {e}"}, status=400)
    state.venue.advance()
    return json_ok({"now": rfc3339(now)})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/status", status),
        web.get("/admin/faults", get_faults),
        web.post("/admin/faults", set_faults),
        web.delete("/admin/faults", clear_faults),
        web.post("/admin/keys", add_key),
        web.post("/admin/ws/drop", drop_ws),
        web.post("/admin/clock", advance_clock),
    ]
