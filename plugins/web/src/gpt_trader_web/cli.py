"""``gpt-trader web --state-dir DIR``: the dashboard and JSON API of a bot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: Any) -> None:
    @app.command()  # type: ignore[untyped-decorator]
    def web(
        state_dir: Annotated[
            Path, typer.Option("--state-dir", help="The bot's state dir (its store).")
        ] = Path("var/dev"),
        host: Annotated[
            str, typer.Option("--host", help="Address to bind; loopback unless told otherwise.")
        ] = "127.0.0.1",
        port: Annotated[
            int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")
        ] = 0,
        token_file: Annotated[
            Path | None,
            typer.Option(
                "--token-file",
                help="Bearer token for controls (created 0600 when missing); "
                "default <state-dir>/web-token.",
            ),
        ] = None,
        read_only: Annotated[
            bool, typer.Option("--read-only", help="No operator controls at all.")
        ] = False,
    ) -> None:
        """Web dashboard and JSON API of a running or finished bot (/api/v1/)."""
        import asyncio
        import contextlib

        from gpt_trader_web.serve import WebOptions, serve

        options = WebOptions(state_dir, host, port, token_file, read_only)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(options))
