"""``gpt-trader tui [--state-dir DIR]``, a live dashboard of a bot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: Any) -> None:
    @app.command()  # type: ignore[untyped-decorator]
    def tui(
        state_dir: Annotated[
            Path, typer.Option("--state-dir", help="The bot's state dir (its store).")
        ] = Path("var/dev"),
        poll: Annotated[
            float, typer.Option("--poll", min=0.1, help="Seconds between store reads.")
        ] = 1.0,
    ) -> None:
        """Dashboard of a running or finished bot: p pause, c cancel all, r resume, q quit."""
        from gpt_trader.errors import UserError

        db = state_dir / "gpt_trader.db"
        if not db.is_file():
            raise UserError(f"no store in {state_dir} (expected {db}); run the bot there first")
        from gpt_trader_tui.app import DashboardApp

        DashboardApp(state_dir, poll_s=poll).run()
