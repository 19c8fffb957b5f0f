"""aiohttp middlewares, outermost first: errors -> faults -> auth.

* errors: ApiError -> documented compact JSON; an unexpected exception is OUR bug: logged,
  counted (tests assert the count stays 0) and answered 500 INTERNAL.
* faults: injected latency, 429, 5xx, ambiguous order replies and malformed bodies (see
  faults.py).
* auth: private endpoints need a valid JWT whose ``uri`` names the request (401
  ``Unauthorized`` otherwise); public ones tolerate any token. Private replies carry the
  x-ratelimit-* headers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from gpt_trader_coinbase_sim.auth import (
    AuthError,
    Principal,
    bearer_token,
    rest_uri_candidates,
)
from gpt_trader_coinbase_sim.errors import (
    JSON_CT,
    ApiError,
    compact,
    internal_error,
    permission_denied,
    unauthorized,
)
from gpt_trader_coinbase_sim.mangle import Kind, mangle
from gpt_trader_coinbase_sim.state import STATE, log

PREFIX = "/api/v3/brokerage"
PUBLIC = (f"{PREFIX}/market/", f"{PREFIX}/time")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
# Calls a view-only key may not make (403 "Missing required scopes").
TRADE_PATHS = frozenset(
    f"{PREFIX}{p}"
    for p in ("/orders", "/orders/edit", "/orders/batch_cancel", "/orders/close_position")
)


def json_ok(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=compact(obj), content_type=JSON_CT)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON (``{}`` when empty); malformed JSON is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "INVALID_ARGUMENT", f"invalid JSON body: {e}") from e


@web.middleware
async def errors_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return e.response()
    except web.HTTPException as e:
        if e.status in (404, 405) and not request.path.startswith("/admin"):
            code = "NOT_FOUND" if e.status == 404 else "UNIMPLEMENTED"
            return ApiError(e.status, code, e.reason).response()
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        state = request.app[STATE]
        state.internal_errors += 1
        log.exception("internal error on %s %s", request.method, request.path_qs)
        return internal_error()


def _rate_headers(limit: int, remaining: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(time.time()) + 1),
    }


def _too_many(limit: int) -> web.Response:
    body = {"errors": [{"id": "rate_limit_exceeded", "message": "Too many requests"}]}
    return web.Response(
        status=429, text=compact(body), content_type=JSON_CT, headers=_rate_headers(limit, 0)
    )


def _spoiled(text: str | None, kind: Kind, rng: random.Random) -> str:
    try:
        doc = json.loads(text or "")
    except ValueError:
        doc = {}
    return mangle(doc, kind, rng)


@web.middleware
async def faults_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    state = request.app[STATE]
    fault = state.faults.rest(request.method, request.path[len(PREFIX) :])
    if fault.none:
        return await handler(request)
    if fault.latency:
        await asyncio.sleep(fault.latency)
    if fault.status == 429:
        return _too_many(state.faults.config.ratelimit or 30)
    if fault.status == 503:
        return ApiError(503, "UNAVAILABLE", "service unavailable").response()
    if fault.status == 500:
        return ApiError(500, "INTERNAL", "internal error").response()
    response = await handler(request)
    if fault.malformed and fault.rng is not None and isinstance(response, web.Response):
        # Applied, then answered with a body no client can trust.
        response.text = _spoiled(response.text, fault.malformed, fault.rng)
    if fault.ambiguous == "delay":
        # The order is in the ledger already; the client gives up before this reply lands.
        await asyncio.sleep(state.faults.config.ambiguous_delay)
    elif fault.ambiguous == "drop" and request.transport is not None:
        # Same, but the connection dies under the client: no status line at all. aiohttp
        # drops the reply it cannot write without a word (the fault's log line is the
        # injector's); raising here would print a traceback per dropped reply.
        request.transport.abort()
    return response


@web.middleware
async def auth_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if not path.startswith(PREFIX):
        return await handler(request)
    if path.startswith(PUBLIC):
        return await handler(request)  # a token is tolerated, never required, on public calls
    state = request.app[STATE]
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return unauthorized()
    # Both the decoded and the raw path: the SDK signs the path exactly as it sends it.
    raw_path = request.raw_path.split("?", 1)[0]
    uris = rest_uri_candidates(request.method, request.host, state.port, path, raw_path)
    try:
        principal = state.verifier.verify(token, uri_candidates=uris)
    except AuthError as e:
        log.debug("401 on %s %s: %s", request.method, path, e)
        return unauthorized()
    if request.method == "POST" and path in TRADE_PATHS and not principal.key.can_trade:
        return permission_denied().response()
    over, limit, remaining = state.faults.rate_limited(principal.key_name)
    if over:
        return _too_many(limit)
    request[PRINCIPAL] = principal
    response = await handler(request)
    response.headers.update(_rate_headers(limit, remaining))
    return response
