"""``gpt-trader status``: what the store says about the last runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gpt_trader.cli.output import print_json, stdout
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager


def load_status(state_dir: Path, trips: int = 10) -> dict[str, Any]:
    from gpt_trader.store import Store

    db = state_dir / "gpt_trader.db"
    if not db.exists():
        raise UserError(f"no store in {state_dir} (expected {db}); run the bot there first")
    store = Store(db)
    try:
        last = store.last_run()
        summary = dict(last.summary or {}) if last else {}
        trip_rows = store.events(types=["guard.trip"], limit=trips, newest_first=True)
        return {
            "state_dir": str(state_dir),
            "runs": len(store.runs()),
            "last_run": None
            if last is None
            else {
                "run_id": last.run_id,
                "profile": last.profile,
                "mode": last.mode,
                "started_ts": last.started_ts,
                "stopped_ts": last.stopped_ts,
                "stop_reason": last.stop_reason,
            },
            "trading_state": summary.get("trading_state", "UNKNOWN"),
            "counts": store.counts(),
            "positions": [
                {"symbol": p.symbol, "size": str(p.size), "avg_entry_price": str(p.avg_entry_price)}
                for p in store.positions()
                if p.size != 0
            ],
            "working_orders": [o.client_order_id for o in store.working_orders()],
            "last_guard_trips": [row.payload.get("result", {}) for row in trip_rows],
            "pnl": summary.get("pnl", {}),
        }
    finally:
        store.close()


def register(app: typer.Typer, pm: PluginManager) -> None:
    @app.command()
    def status(
        state_dir: Annotated[Path, typer.Option("--state-dir", help="The bot's state dir.")] = Path(
            "var/dev"
        ),
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show the trading state, positions, orders and last guard trips from the store."""
        data = load_status(state_dir)
        if as_json:
            print_json(data)
            return
        from rich.table import Table

        table = Table(title=f"gpt-trader status — {state_dir}", show_header=False)
        last = data["last_run"] or {}
        table.add_row(
            "last run",
            f"{last.get('run_id', '-')} ({last.get('profile', '-')}, {last.get('stop_reason', '-')})",
        )
        table.add_row("runs", str(data["runs"]))
        table.add_row("trading state", data["trading_state"])
        table.add_row("orders", str(data["counts"].get("orders", {})))
        table.add_row("fills", str(data["counts"].get("fills", 0)))
        table.add_row("working orders", str(len(data["working_orders"])))
        for pos in data["positions"]:
            table.add_row(f"position {pos['symbol']}", f"{pos['size']} @ {pos['avg_entry_price']}")
        for trip in data["last_guard_trips"]:
            table.add_row(
                "guard trip", f"{trip.get('guard')} {trip.get('severity')}: {trip.get('message')}"
            )
        stdout.print(table)
