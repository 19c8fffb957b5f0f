"""The aiohttp application: the page, its static files, the JSON API and the controls.

Reads come from :class:`~gpt_trader_web.source.BotSource`; controls go through
:func:`gpt_trader.control.record`, the path the CLI's ``pause`` and friends take, so the
running bot applies them and records who asked and why. A control needs the bearer token;
in read-only mode the control route does not exist. Bound to a non-loopback address,
every API read needs the token too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web
from gpt_trader.control import ACTIONS, record
from gpt_trader.errors import UserError
from pydantic import BaseModel

from gpt_trader_web import schema, tokens
from gpt_trader_web.source import BotSource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SOURCE = web.AppKey("source", BotSource)
TOKEN = web.AppKey("token", str)
READ_ONLY = web.AppKey("read_only", bool)
LOCKED_READS = web.AppKey("locked_reads", bool)
STATE_DIR = web.AppKey("state_dir", Path)
STREAM_S = web.AppKey("stream_s", float)

STATIC = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
MAX_REASON = 500


def _plotly_js() -> bytes:
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; API errors as a JSON body, never an HTML page."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/"):
            raise
        response = _error(exc.status, exc.reason or "error")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _authorised(request: web.Request) -> bool:
    return tokens.matches(request.headers.get("Authorization"), request.app[TOKEN])


def _json(payload: BaseModel | list[Any]) -> web.Response:
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json()
    else:
        text = json.dumps([p.model_dump(mode="json") for p in payload])
    return web.Response(text=text, content_type="application/json")


async def page(request: web.Request) -> web.StreamResponse:
    name = request.match_info.get("name", "index.html")
    if name == "plotly.min.js":
        return web.Response(body=_plotly_js(), content_type="text/javascript")
    if name not in STATIC:
        raise web.HTTPNotFound()
    body = resources.files("gpt_trader_web").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=STATIC[name])


def _read(part: Callable[[Any], BaseModel | list[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.app[LOCKED_READS] and not _authorised(request):
            return _error(401, "this server needs the bearer token for every request")
        return _json(part(request.app[SOURCE].snapshot()))

    return handler


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: the whole dashboard every ``STREAM_S`` seconds."""
    if request.app[LOCKED_READS] and not _authorised(request):
        return _error(401, "this server needs the bearer token for every request")
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    source, interval = request.app[SOURCE], request.app[STREAM_S]
    try:
        while True:
            data = source.snapshot().model_dump_json()
            await response.write(f"data: {data}\n\n".encode())
            await asyncio.sleep(interval)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def server_info(request: web.Request) -> web.StreamResponse:
    """What the page needs to know of this server before it reads anything."""
    return web.json_response(
        {"read_only": request.app[READ_ONLY], "locked_reads": request.app[LOCKED_READS]}
    )


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(schema.openapi(ACTIONS, request.app[READ_ONLY]))


async def control(request: web.Request) -> web.StreamResponse:
    if not _authorised(request):
        return _error(401, "operator controls need the bearer token (Authorization: Bearer ...)")
    action = request.match_info["action"]
    if action not in ACTIONS:
        return _error(404, f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'the body must be JSON: {"reason": "..."}')
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return _error(400, "say why: a non-empty 'reason' is recorded with the action")
    if len(reason) > MAX_REASON:
        return _error(400, f"the reason is longer than {MAX_REASON} characters")
    reason = f"web: {reason.strip()}"
    try:
        action_id = record(request.app[STATE_DIR], action, reason)
    except UserError as exc:
        return _error(409, str(exc))
    return web.json_response({"action": action, "id": action_id, "reason": reason})


def make_app(
    state_dir: Path,
    token: str,
    *,
    read_only: bool = False,
    locked_reads: bool = False,
    stream_s: float = 1.0,
) -> web.Application:
    app = web.Application(middlewares=[headers], client_max_size=16 * 1024)
    app[SOURCE] = BotSource(state_dir)
    app[TOKEN] = token
    app[READ_ONLY] = read_only
    app[LOCKED_READS] = locked_reads
    app[STATE_DIR] = state_dir
    app[STREAM_S] = stream_s
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", page)
    app.router.add_get("/api/v1/dashboard", _read(lambda d: d))
    app.router.add_get("/api/v1/state", _read(lambda d: d.state))
    app.router.add_get("/api/v1/positions", _read(lambda d: d.positions))
    app.router.add_get("/api/v1/orders", _read(lambda d: d.orders))
    app.router.add_get("/api/v1/fills", _read(lambda d: d.fills))
    app.router.add_get("/api/v1/pnl", _read(lambda d: d.pnl))
    app.router.add_get("/api/v1/trips", _read(lambda d: d.trips))
    app.router.add_get("/api/v1/alerts", _read(lambda d: d.alerts))
    app.router.add_get("/api/v1/freshness", _read(lambda d: d.freshness))
    app.router.add_get("/api/v1/runs", _read(lambda d: d.runs))
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/server", server_info)
    if not read_only:
        app.router.add_post("/api/v1/control/{action}", control)

    async def close_source(app: web.Application) -> None:
        app[SOURCE].close()

    app.on_cleanup.append(close_source)
    return app
