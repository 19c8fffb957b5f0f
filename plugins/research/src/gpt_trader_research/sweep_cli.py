"""``gpt-trader sweep``: the vectorised SMA-cross sweep (:mod:`gpt_trader_research.sweep`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def sweep(
        data: Annotated[Path, typer.Option("--data", help="Candle CSV or catalog:BTC-USD@1m.")],
        symbol: Annotated[str, typer.Option("--symbol", help="A spot product, e.g. BTC-USD.")],
        fast: Annotated[
            str, typer.Option("--fast", help="Fast SMA periods: START:STOP[:STEP] or A,B,C.")
        ] = "5:50:5",
        slow: Annotated[
            str, typer.Option("--slow", help="Slow SMA periods: START:STOP[:STEP] or A,B,C.")
        ] = "20:200:10",
        top: Annotated[
            int, typer.Option("--top", min=1, help="Best pairs to report and re-check.")
        ] = 5,
        cash: Annotated[str | None, typer.Option("--cash", help="Starting cash.")] = None,
        fee_bps: Annotated[
            str | None, typer.Option("--fee-bps", help="Fee on notional, each side (default 60).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Every (fast, slow) SMA-cross pair in one vectorised pass (long-only, all-in,
        next-open fills), ranked by final equity; the best --top re-run through the kernel,
        each marked with whether the kernel agrees (trades and equity to the cent)."""
        from gpt_trader.output import ERROR_PREFIX, print_json, stderr, stdout

        from gpt_trader_research.specs import decimal_option as _dec
        from gpt_trader_research.sweep import grid, parse_range, run_sweep, show

        pairs = grid(parse_range("--fast", fast), parse_range("--slow", slow))
        money = {
            "cash": _dec("--cash", cash, minimum=Decimal("0.01")),
            "fee_bps": _dec("--fee-bps", fee_bps, minimum=Decimal(0)),
        }
        result = run_sweep(
            data, symbol, pairs, top=top, **{k: v for k, v in money.items() if v is not None}
        )
        if as_json:
            print_json(result.to_json())
        else:
            show(result, stdout)
        if not result.all_match:
            stderr.print(f"[red]{ERROR_PREFIX}[/] the kernel disagrees with the sweep (see above)")
            raise typer.Exit(1)
