"""Showing a backtest: a rich summary for people, an HTML report (plotly), a PNG if possible.

Every figure is printed as ``--json`` prints it (the result's :class:`Units`: prices and
sizes on the product's increments, money on the quote currency's, half-even); the charts
plot the exact curve and show it to those increments. Guard trips, guard warnings and
rejected orders are listed with their time and symbol, and marked on the price chart.

A backtest of a future or a perpetual adds funding, margin calls, liquidations and
settlements: rows of the summary, markers on the price chart and figures in its title.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from gpt_trader.domain import money
from gpt_trader.errors import UserError
from rich.console import Console
from rich.table import Table

from gpt_trader_research.engine import BacktestResult

NS = 1_000_000_000
MAX_POINTS = 20_000


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:,.2f} %"


def _when(text: str | None) -> str:
    return "" if not text else text[:16].replace("T", " ")


def _num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _check(r: dict[str, str]) -> str:
    """The reconciliation as a sum a reader can redo."""
    change = Decimal(r["final_equity"]) - Decimal(r["starting_cash"])
    return (
        f"trades {r['trades_pnl']} + funding {r['funding']} + rounding {r['rounding']} = {change}"
    )


def stats_table(result: BacktestResult) -> Table:
    table = Table(title=f"backtest {result.bars.symbol}", show_header=False, box=None)
    rows = [
        (
            "bars",
            f"{len(result.bars):,} ({result.path}, {result.kernel_bars:,} through the kernel)",
        ),
        *money_rows(result),
        ("buy & hold", _pct(result.stats["buy_and_hold_return"])),
        *ratio_rows(result.stats),
        ("exposure", _pct(result.stats["exposure"])),
        *state_rows(result),
    ]
    if result.derivatives is not None:
        rows += derivative_rows(result.derivatives)
    return two_columns(table, rows)


def two_columns(table: Table, rows: list[tuple[str, str]]) -> Table:
    """A summary: names in bold, figures on the right."""
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows:
        table.add_row(key, value)
    return table


def money_rows(result: Any) -> list[tuple[str, str]]:
    """Speed, starting cash, final equity, how the trades add up to it, total return."""
    u = result.units
    return [
        ("speed", f"{result.bars_per_s:,.0f} bars/s ({result.elapsed_s * 1000:,.1f} ms)"),
        ("starting cash", f"{u.cash(result.starting_cash)} {u.currency}"),
        ("final equity", f"{u.cash(result.final_equity)} {u.currency}"),
        ("equity change", _check(result.reconciliation())),
        ("total return", _pct(result.stats["total_return"])),
    ]


def ratio_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("CAGR", _pct(s["cagr"])),
        ("Sharpe", _num(s["sharpe"])),
        ("Sortino", _num(s["sortino"])),
        ("max drawdown", _pct(s["max_drawdown"])),
        ("Calmar", _num(s["calmar"])),
        ("win rate", _pct(s["win_rate"])),
        ("profit factor", _num(s["profit_factor"])),
    ]


def state_rows(result: Any) -> list[tuple[str, str]]:
    """Trades, fees, and what the guards and the venue did."""
    s, u = result.stats, result.units
    return [
        ("trades", f"{s['trades']} closed, {s['open_trades']} open"),
        ("fees", f"{u.cash(s['fees'])} {u.currency}"),
        ("trading state", str(result.summary.get("trading_state", ""))),
        ("guard trips", str(len(result.trips_by_guards))),
        ("guard warnings", str(len(result.guard_warnings()))),
        ("rejected orders", str(len(result.recorder.rejections))),
    ]


def derivative_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    """Summary rows of the ``derivatives`` part of a result (its figures already rounded)."""
    f, m, liq = d["funding"], d["margin_calls"], d["liquidations"]
    settled = d["settlements"]
    lev = d["leverage"] or "venue default"
    return [
        ("leverage", f"{lev}, {d['margin_type'] or 'CROSS'} margin"),
        (
            "funding",
            f"{f['payments']} payments: paid {f['paid']}, received {f['received']}, "
            f"net {f['net']} {d['currency']}",
        ),
        ("margin calls", f"{m['count']} (worst level {m['worst_level']})"),
        (
            "liquidations",
            f"{liq['count']}: realised {liq['realized_pnl']}, fees {liq['fees']}",
        ),
        (
            "settlements",
            ", ".join(
                f"{_when(x['time'])} at {x['price']} (P&L {x['realized_pnl']})" for x in settled
            )
            or "none",
        ),
    ]


def _title_extra(d: dict[str, Any] | None) -> str:
    if d is None:
        return ""
    return (
        f", funding {d['funding']['net']}, "
        f"{d['margin_calls']['count']} margin calls, {d['liquidations']['count']} liquidations, "
        f"{len(d['settlements'])} settlements"
    )


def _venue_markers(fig: Any, d: dict[str, Any] | None) -> None:
    """Liquidations and settlements on the price chart."""
    import plotly.graph_objects as go

    if d is None:
        return
    for items, name, symbol, color in (
        (d["liquidations"]["fills"], "liquidation", "x", "#000000"),
        (d["settlements"], "settlement", "diamond", "#7b3294"),
    ):
        if not items:
            continue
        fig.add_trace(
            go.Scatter(
                x=[np.datetime64(x["time"].rstrip("Z"), "ns") for x in items],
                y=[float(x["price"]) for x in items],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 12, "color": color},
                text=[f"{name} {x['size']} @ {x['price']} P&L {x['realized_pnl']}" for x in items],
                hoverinfo="text+x",
            ),
            row=1,
            col=1,
        )


def trades_table(result: BacktestResult, limit: int) -> Table:
    trips = result.trips
    shown = trips if len(trips) <= limit else trips[: limit // 2] + trips[-(limit - limit // 2) :]
    title = f"trades ({len(trips)})" + ("" if len(shown) == len(trips) else f", {len(shown)} shown")
    table = Table(title=title)
    cols = ("#", "side", "entry time", "entry", "exit time", "exit", "why", "size", "fees", "P&L")
    for col in cols:
        table.add_column(col, justify="left" if col in ("side", "why") else "right")
    index = {id(t): i for i, t in enumerate(trips, start=1)}
    units = result.units
    for t in shown:
        j = t.to_json(units)
        pnl = j["pnl"]
        style = "green" if t.pnl > 0 else "red" if t.pnl < 0 else ""
        table.add_row(
            str(index[id(t)]),
            t.side + (" (open)" if t.is_open else ""),
            _when(j["entry_time"]),
            j["entry_price"],
            _when(j["exit_time"]),
            j["exit_price"] or "",
            j["exit_reason"] or "",
            j["size"],
            j["fees"],
            f"[{style}]{pnl}[/]" if style else pnl,
        )
    return table


def incidents(result: BacktestResult) -> list[dict[str, str]]:
    """Runtime trips, rejected orders and guard warnings, in time order, as report rows
    (``time``, ``symbol``, ``by``, ``what``). A pre-trade trip is its rejection: one row."""
    rows = [
        {
            "time": t["time"],
            "symbol": t["symbol"],
            "by": t["guard"],
            "what": f"{t['severity']} ({t['stage']}): {t['message']}",
        }
        for t in result.guard_trips()
        if t["stage"] == "runtime"
    ]
    rows += [
        {
            "time": r["time"],
            "symbol": r["symbol"],
            "by": r["source"].removeprefix("guard:"),
            "what": f"rejected {r['side']} {r['size']}: {r['reason']}",
        }
        for r in result.rejections()
    ]
    rows += [
        {
            "time": w["time"],
            "symbol": w["symbol"],
            "by": w["guard"],
            "what": f"WARN ({w['stage']}): {w['message']}",
        }
        for w in result.guard_warnings()
    ]
    return sorted(rows, key=lambda row: row["time"])


def incidents_table(rows: list[dict[str, str]], limit: int) -> Table:
    shown = rows[:limit]
    title = f"guard trips, rejections and warnings ({len(rows)})"
    if len(shown) < len(rows):
        title += f", the first {len(shown)} shown (all in --json)"
    table = Table(title=title)
    for col in ("time", "symbol", "by"):
        table.add_column(col, no_wrap=True)
    table.add_column("what", overflow="fold")
    for row in shown:
        table.add_row(_when(row["time"]), row["symbol"], row["by"], row["what"])
    return table


def show(result: BacktestResult, console: Console, trades: int) -> None:
    console.print(stats_table(result))
    if trades > 0 and result.trips:
        console.print(trades_table(result, trades))
    rows = incidents(result)
    if rows:
        console.print(incidents_table(rows, max(trades, 20)))


def _decimate(n: int) -> np.ndarray:
    """Indices to plot: every bar up to MAX_POINTS, else an even subsample (with the ends)."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).astype(np.int64))


def _decimals(increment: Decimal) -> int:
    return max(0, -int(increment.as_tuple().exponent))


def _incident_markers(fig: Any, result: BacktestResult) -> None:
    """Rejected orders and runtime trips on the price chart, at the close of their bar."""
    import plotly.graph_objects as go

    rows = incidents(result)
    if not rows:
        return
    bars = result.bars
    bar_ts = np.asarray(bars.ts, dtype=np.int64)
    times = np.asarray([np.datetime64(r["time"].rstrip("Z"), "ns") for r in rows])
    at = np.searchsorted(bar_ts, times.astype(np.int64), side="right") - 1
    price = np.asarray(bars.close, dtype=np.float64)[np.clip(at, 0, len(bars) - 1)]
    fig.add_trace(
        go.Scatter(
            x=times,
            y=price,
            mode="markers",
            name="rejected / guard",
            marker={"symbol": "circle-x-open", "size": 10, "color": "#e08214"},
            text=[f"{r['symbol']} {r['by']}: {r['what']}" for r in rows],
            hoverinfo="text+x",
        ),
        row=1,
        col=1,
    )


def figure(result: BacktestResult) -> Any:
    """Price with the trades, equity, drawdown: three rows sharing the time axis."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    bars = result.bars
    units = result.units
    # The curves are exact floats; hovering shows them to the increments the figures use.
    price_fmt = f"%{{y:,.{_decimals(units.price_increment)}f}}"
    cash_fmt = f"%{{y:,.{_decimals(money.currency_increment(units.currency))}f}}"
    n = len(bars)
    close_ts = np.asarray(bars.ts, dtype=np.int64) + bars.interval_s * NS
    x_all = close_ts.astype("datetime64[ns]")
    pick = _decimate(n)
    x = x_all[pick]
    curve = result.curve
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.5, 0.3, 0.2],
        subplot_titles=(f"{bars.symbol} close and trades", "equity", "drawdown"),
    )
    fig.add_trace(
        go.Scattergl(
            x=x,
            y=curve.close[pick],
            name="close",
            line={"width": 1, "color": "#555"},
            hovertemplate=price_fmt,
        ),
        row=1,
        col=1,
    )
    fills = result.fills
    # what closed each trip, on its closing fill's marker
    why = {
        (t.exit_ts, "SELL" if t.side == "long" else "BUY"): f" ({t.exit_reason})"
        for t in result.trips
        if t.exit_reason
    }
    if fills:
        buys = [f for f in fills if f.side.value == "BUY"]
        sells = [f for f in fills if f.side.value == "SELL"]
        for group, name, symbol, color in (
            (buys, "buy", "triangle-up", "#1a9850"),
            (sells, "sell", "triangle-down", "#d73027"),
        ):
            if not group:
                continue
            fig.add_trace(
                go.Scattergl(
                    x=np.asarray([f.ts for f in group], dtype=np.int64).astype("datetime64[ns]"),
                    y=[float(f.price) for f in group],
                    mode="markers",
                    name=name,
                    marker={"symbol": symbol, "size": 8, "color": color},
                    text=[
                        f"{f.side.value} {units.size(f.size)} @ {units.price(f.price)} "
                        f"fee {units.cash(f.fee)}{why.get((f.ts, f.side.value), '')}"
                        for f in group
                    ],
                    hoverinfo="text+x",
                ),
                row=1,
                col=1,
            )
    _venue_markers(fig, result.derivatives)
    _incident_markers(fig, result)
    fig.add_trace(
        go.Scattergl(
            x=x,
            y=curve.equity[pick],
            name="equity",
            line={"color": "#2166ac"},
            hovertemplate=cash_fmt,
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scattergl(
            x=x,
            y=curve.drawdown[pick] * 100,
            name="drawdown %",
            fill="tozeroy",
            line={"color": "#b2182b"},
        ),
        row=3,
        col=1,
    )
    s = result.stats
    sharpe = "n/a" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
    fig.update_layout(
        title=(
            f"{bars.symbol} {len(bars):,} bars: return {s['total_return'] * 100:.2f} %, "
            f"Sharpe {sharpe}, max DD {s['max_drawdown'] * 100:.2f} %, "
            f"{s['trades']} trades, fees {units.cash(s['fees'])}" + _title_extra(result.derivatives)
        ),
        height=900,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def write_html(result: BacktestResult, path: Path, *, cdn: bool = False) -> Path:
    """Write the report; self-contained (plotly.js embedded) unless ``cdn``."""
    return save_html(figure(result), path, cdn=cdn)


def save_html(fig: Any, path: Path, *, cdn: bool = False) -> Path:
    """Write a plotly figure as an HTML page (plotly.js embedded unless ``cdn``)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(path), include_plotlyjs="cdn" if cdn else True, full_html=True)
    except OSError as exc:
        raise UserError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    return path


def png_exporter() -> str | None:
    """Why a PNG cannot be written (None when an image exporter is installed)."""
    if importlib.util.find_spec("kaleido") is None:
        return "PNG export needs the kaleido package (pip install kaleido), which is not installed"
    return None


def write_png(result: BacktestResult, path: Path) -> Path:
    return save_png(figure(result), path, height=900)


def save_png(fig: Any, path: Path, *, height: int) -> Path:
    try:
        fig.write_image(str(path), width=1400, height=height)
    except Exception as exc:  # kaleido reports its own failures (no Chrome, ...)
        raise UserError(f"cannot write {path}: {exc}") from None
    return path
