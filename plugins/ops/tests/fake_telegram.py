"""A fake Telegram Bot API on loopback: the methods the bot uses, with a real HTTP server
the tests start and stop. ``updates`` is what users "sent"; ``sent`` is what the bot said."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

from aiohttp import web


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = ""

    def user_says(self, chat_id: int, text: str) -> None:
        with self._lock:
            self.updates.append(
                {"update_id": next(self._ids), "message": {"chat": {"id": chat_id}, "text": text}}
            )

    def replies_to(self, chat_id: int) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    def wait_reply(self, chat_id: int, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = self.replies_to(chat_id)
            if len(replies) >= count:
                return replies
            time.sleep(0.05)
        raise AssertionError(f"chat {chat_id} got {self.replies_to(chat_id)}, wanted {count}")

    async def _handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        body = await request.json()
        method = request.match_info["method"]
        if method == "sendMessage":
            with self._lock:
                self.sent.append({"chat_id": body["chat_id"], "text": body["text"]})
            return web.json_response({"ok": True, "result": {"message_id": len(self.sent)}})
        if method == "getUpdates":
            offset = int(body.get("offset", 0))
            deadline = time.monotonic() + min(float(body.get("timeout", 0)), 0.5)
            while True:
                with self._lock:
                    ready = [u for u in self.updates if u["update_id"] >= offset]
                if ready or time.monotonic() >= deadline:
                    return web.json_response({"ok": True, "result": ready})
                await asyncio.sleep(0.05)
        return web.json_response({"ok": False, "description": "no such method"}, status=404)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
