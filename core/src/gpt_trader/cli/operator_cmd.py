"""Operator actions recorded in the store: only an operator loosens the trading state."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from gpt_trader.cli.output import print_json, stdout
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager


def register(app: typer.Typer, pm: PluginManager) -> None:
    @app.command()
    def resume(
        state_dir: Annotated[Path, typer.Option("--state-dir", help="The bot's state dir.")],
        reason: Annotated[
            str, typer.Option("--reason", help="Why trading may resume.")
        ] = "operator resume",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Clear a REDUCE_ONLY or HALTED state; the next run starts ACTIVE. Recorded with time and reason."""
        from gpt_trader.store import Store

        db = state_dir / "gpt_trader.db"
        if not db.exists():
            raise UserError(f"no store in {state_dir}")
        store = Store(db)
        try:
            action_id = store.record_operator_action(time.time_ns(), "resume", reason)
        finally:
            store.close()
        result = {
            "action": "resume",
            "id": action_id,
            "reason": reason,
            "state_dir": str(state_dir),
        }
        if as_json:
            print_json(result)
        else:
            stdout.print(f"recorded resume #{action_id}: {reason}")
