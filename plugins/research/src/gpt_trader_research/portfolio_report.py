"""Showing a portfolio backtest: a rich summary, an HTML report (plotly), a PNG if possible.

As for one product (:mod:`gpt_trader_research.report`), every figure is printed as
``--json`` prints it: money on the quote currency's increment, each product's prices and
sizes on its own increments, half-even. The charts plot the exact curves.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from gpt_trader.domain import money
from rich.console import Console
from rich.table import Table

from gpt_trader_research.portfolio import PortfolioResult
from gpt_trader_research.report import (
    _decimals,
    _decimate,
    _pct,
    _when,
    incidents,
    incidents_table,
    money_rows,
    ratio_rows,
    save_html,
    save_png,
    state_rows,
    two_columns,
)

NS = 1_000_000_000


def summary_table(result: PortfolioResult) -> Table:
    s, u = result.stats, result.units
    name = result.config.profile.name
    table = Table(
        title=f"portfolio backtest: {len(result.products)} products ({name})",
        show_header=False,
        box=None,
    )
    rows = [
        ("bars", f"{result.bars:,} ({result.kernel_bars:,} through the kernel)"),
        *money_rows(result),
        ("buy & hold (equal weights)", _pct(s["buy_and_hold_return"])),
        *ratio_rows(s),
        ("peak gross exposure", f"{u.cash(_peak(result))} {u.currency}"),
        ("time with a position", _pct(s["exposure"])),
        *state_rows(result),
    ]
    return two_columns(table, rows)


def _peak(result: PortfolioResult) -> Decimal:
    exposure = result.curve.exposure
    return Decimal(repr(float(exposure.max()))) if len(exposure) else Decimal(0)


def products_table(result: PortfolioResult) -> Table:
    """Each product's contribution and statistics."""
    table = Table(title="products (return: P&L over the starting cash)")
    table.add_column("product", no_wrap=True)
    for col in ("bars", "trades", "win rate", "P&L", "share", "return", "max DD", "fees"):
        table.add_column(col, justify="right", no_wrap=col != "trades")
    for row, (symbol, p) in zip(result.contribution(), result.products.items(), strict=True):
        s = p.stats
        pnl = row["pnl"]
        style = "green" if p.pnl > 0 else "red" if p.pnl < 0 else ""
        table.add_row(
            symbol,
            f"{len(p.bars):,}",
            f"{s['trades']}" + (f" +{s['open_trades']} open" if s["open_trades"] else ""),
            _pct(s["win_rate"]),
            f"[{style}]{pnl}[/]" if style else pnl,
            _pct(row["share"]),
            _pct(row["return"]),
            _pct(s["max_drawdown"]),
            row["fees"],
        )
    return table


def trades_table(result: PortfolioResult, limit: int) -> Table:
    """The first and last trades over every product, in time order."""
    trips = sorted(
        ((t.entry_ts, symbol, t) for symbol, p in result.products.items() for t in p.trips),
        key=lambda x: (x[0], x[1]),
    )
    shown = trips if len(trips) <= limit else trips[: limit // 2] + trips[-(limit - limit // 2) :]
    title = f"trades ({len(trips)})" + ("" if len(shown) == len(trips) else f", {len(shown)} shown")
    table = Table(title=title)
    cols = ("product", "side", "entry time", "entry", "exit time", "exit", "why", "size", "P&L")
    for col in cols:
        left = col in ("product", "side", "why")
        table.add_column(col, justify="left" if left else "right", no_wrap=col == "product")
    for _, symbol, t in shown:
        j = t.to_json(result.products[symbol].units)
        style = "green" if t.pnl > 0 else "red" if t.pnl < 0 else ""
        table.add_row(
            symbol,
            t.side + (" (open)" if t.is_open else ""),
            _when(j["entry_time"]),
            j["entry_price"],
            _when(j["exit_time"]),
            j["exit_price"] or "",
            j["exit_reason"] or "",
            j["size"],
            f"[{style}]{j['pnl']}[/]" if style else j["pnl"],
        )
    return table


def show(result: PortfolioResult, console: Console, trades: int) -> None:
    console.print(summary_table(result))
    console.print(products_table(result))
    if trades > 0 and any(p.trips for p in result.products.values()):
        console.print(trades_table(result, trades))
    rows = incidents(result)  # type: ignore[arg-type]
    if rows:
        console.print(incidents_table(rows, max(trades, 20)))


def figure(result: PortfolioResult) -> Any:
    """Equity, drawdown, gross exposure and each product's P&L over the merged timeline,
    then the products' statistics as a table."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    u = result.units
    cash_fmt = f"%{{y:,.{_decimals(money.currency_increment(u.currency))}f}}"
    c = result.curve
    pick = _decimate(len(c.close_ts))
    x = c.close_ts[pick].astype("datetime64[ns]")
    fig = make_subplots(
        rows=5,
        cols=1,
        vertical_spacing=0.04,
        row_heights=[0.25, 0.12, 0.12, 0.25, 0.26],
        specs=[[{}], [{}], [{}], [{}], [{"type": "table"}]],
        subplot_titles=("equity", "drawdown", "gross exposure", "P&L by product", ""),
    )
    line = {"color": "#2166ac"}
    fig.add_trace(
        go.Scattergl(x=x, y=c.equity[pick], name="equity", line=line, hovertemplate=cash_fmt),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scattergl(
            x=x,
            y=c.drawdown[pick] * 100,
            name="drawdown %",
            fill="tozeroy",
            line={"color": "#b2182b"},
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scattergl(
            x=x,
            y=c.exposure[pick],
            name="gross exposure",
            line={"color": "#e08214"},
            hovertemplate=cash_fmt,
        ),
        row=3,
        col=1,
    )
    start = float(result.starting_cash)
    for symbol, p in result.products.items():
        close_ts = np.asarray(p.bars.ts, dtype=np.int64) + p.bars.interval_s * NS
        at = np.searchsorted(close_ts, c.close_ts[pick], side="right") - 1
        pnl = np.where(at >= 0, p.curve.equity[np.clip(at, 0, None)] - start, 0.0)
        fig.add_trace(
            go.Scattergl(x=x, y=pnl, name=symbol, mode="lines", hovertemplate=cash_fmt),
            row=4,
            col=1,
        )
    rows = result.contribution()
    fig.add_trace(
        go.Table(
            header={"values": ["product", "trades", "win rate", "P&L", "share", "max DD", "fees"]},
            cells={
                "values": [
                    [r["symbol"] for r in rows],
                    [r["trades"] for r in rows],
                    [_pct(p.stats["win_rate"]) for p in result.products.values()],
                    [r["pnl"] for r in rows],
                    [_pct(r["share"]) for r in rows],
                    [_pct(p.stats["max_drawdown"]) for p in result.products.values()],
                    [r["fees"] for r in rows],
                ]
            },
        ),
        row=5,
        col=1,
    )
    s = result.stats
    sharpe = "n/a" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
    fig.update_layout(
        title=(
            f"{len(result.products)} products, {result.bars:,} bars: return "
            f"{s['total_return'] * 100:.2f} %, Sharpe {sharpe}, max DD "
            f"{s['max_drawdown'] * 100:.2f} %, {s['trades']} trades, fees {u.cash(s['fees'])}"
        ),
        height=1400,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def write_html(result: PortfolioResult, path: Path, *, cdn: bool = False) -> Path:
    return save_html(figure(result), path, cdn=cdn)


def write_png(result: PortfolioResult, path: Path) -> Path:
    return save_png(figure(result), path, height=1400)
