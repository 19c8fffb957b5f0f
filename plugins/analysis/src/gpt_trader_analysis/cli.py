"""``gpt-trader export`` and ``gpt-trader db browse``, added by the ``analysis`` plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

STATE_DIR = typer.Option("--state-dir", help="The bot's state dir (its store).")


def register(app: Any) -> None:
    @app.command()  # type: ignore[untyped-decorator]
    def export(
        state_dir: Annotated[Path, STATE_DIR] = Path("var/dev"),
        fmt: Annotated[
            str, typer.Option("--format", help="csv, jsonl or parquet (money exact in each).")
        ] = "csv",
        table: Annotated[
            str,
            typer.Option("--table", help="fills, orders, events, positions or equity."),
        ] = "fills",
        since: Annotated[
            str | None,
            typer.Option("--since", help="Only rows from this UTC date/time (2026-12-01[T10:00])."),
        ] = None,
        run: Annotated[str | None, typer.Option("--run", help="Only this run's rows.")] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="File to write; stdout for csv/jsonl.")
        ] = None,
    ) -> None:
        """Export a table of the store, read-only (the running bot is never locked)."""
        from gpt_trader_analysis.export import export_table

        export_table(state_dir, fmt, table, since, run, out)

    db = typer.Typer(help="The store as a database: browse it with Datasette.")
    app.add_typer(db, name="db")

    @db.command("browse")
    def browse(
        state_dir: Annotated[Path, STATE_DIR] = Path("var/dev"),
        host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 0,
        snapshot: Annotated[
            bool,
            typer.Option("--snapshot", help="Serve a consistent copy instead of the live file."),
        ] = False,
    ) -> None:
        """Datasette over the store (read-only), with canned queries: P&L by day, fees by
        product, slippage, guard trips."""
        from gpt_trader_analysis.browse import browse as serve

        raise typer.Exit(serve(state_dir, host, port, snapshot))
