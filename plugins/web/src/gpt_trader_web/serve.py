"""Serving the dashboard: bind, print one ready line (JSON: ``url``, ``token_file``) as
``sim serve`` does, and run until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from gpt_trader.errors import UserError

from gpt_trader_web import tokens
from gpt_trader_web.server import make_app
from gpt_trader_web.source import check_store


@dataclass(frozen=True)
class WebOptions:
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    token_file: Path | None = None
    read_only: bool = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare(options: WebOptions) -> tuple[Path, str, bool]:
    """Validate everything before anything is written: the store, the bind, the token.
    Returns the token file, the token and whether reads need it."""
    check_store(options.state_dir)
    loopback = is_loopback(options.host)
    if not loopback and options.token_file is None:
        raise UserError(
            f"refusing to serve on {options.host}, which is not loopback, without "
            "--token-file: anyone who can reach it could read the bot"
        )
    token_file = options.token_file or options.state_dir / tokens.TOKEN_FILE
    return token_file, tokens.load_or_create(token_file), not loopback


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is in use; pick another or --port 0") from None
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


async def serve(options: WebOptions, ready: asyncio.Event | None = None) -> None:
    token_file, token, locked = prepare(options)
    sock = bind(options.host, options.port)
    app = make_app(options.state_dir, token, read_only=options.read_only, locked_reads=locked)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    line = {
        "url": f"http://{shown}:{port}/",
        "token_file": str(token_file.resolve()),
        "read_only": options.read_only,
        "state_dir": str(options.state_dir.resolve()),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
