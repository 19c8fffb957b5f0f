"""``gpt-trader run --web-port N``: the dashboard served from inside the bot, on its own
thread and event loop so a slow browser never delays a decision. It reads the store
read-only like any other viewer; controls still go through the store's operator actions."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiohttp import web

from gpt_trader_web import tokens
from gpt_trader_web.serve import bind
from gpt_trader_web.server import make_app

PORT_OPTION = "web_port"
EXTRA_KEY = "web"
log = logging.getLogger("gpt_trader.web")


class EmbeddedServer:
    def __init__(self, runtime: Any, port: int) -> None:
        self.state_dir = runtime.state_dir
        self.token_file = self.state_dir / tokens.TOKEN_FILE
        self.token = tokens.load_or_create(self.token_file)
        self.sock = bind("127.0.0.1", port)  # a port in use fails the start, in one line
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, name="gpt-trader-web", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.warning("web dashboard on %s (controls token in %s)", self.url, self.token_file)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = make_app(self.state_dir, self.token)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, self.sock).start())
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def on_startup(runtime: Any) -> None:
    """Serve the dashboard when the run was asked to (``run --web-port``)."""
    port = (runtime.extra.get("options") or {}).get(PORT_OPTION)
    if port is None:
        return
    server = EmbeddedServer(runtime, int(port))
    server.start()
    runtime.extra[EXTRA_KEY] = server
    runtime.extra["web_url"] = server.url


def on_shutdown(runtime: Any) -> None:
    server = runtime.extra.pop(EXTRA_KEY, None)
    if server is not None:
        server.stop()
