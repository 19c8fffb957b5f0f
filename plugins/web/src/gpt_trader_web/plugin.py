"""The ``web`` plugin: ``gpt-trader web --state-dir DIR``, a dashboard and JSON API (declared in
:mod:`gpt_trader_web.commands`), and the server ``run --web-port`` embeds."""

from __future__ import annotations

from typing import Any

from gpt_trader.hookspecs import hookimpl


@hookimpl
def startup(context: Any) -> None:
    # Only `run --web-port` loads the server (aiohttp's web stack): other runs pay nothing.
    if (context.extra.get("options") or {}).get("web_port") is None:
        return
    from gpt_trader_web.embedded import on_startup

    on_startup(context)


@hookimpl
def shutdown(context: Any) -> None:
    if "web" not in context.extra:
        return
    from gpt_trader_web.embedded import on_shutdown

    on_shutdown(context)
