"""The Textual dashboard: one screen of a running or finished bot, refreshed every second.

Keys: ``p`` pause entries, ``c`` cancel all open orders, ``r`` resume, ``q`` quit. The first
three record an operator action in the store with a reason, exactly as ``gpt-trader pause``
etc. do; the bot applies it on its next guard tick (or at its next start).
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from gpt_trader.domain import money
from gpt_trader.monitor.reader import (
    CRITICAL,
    FRESH,
    STALE,
    WARN,
    Dashboard,
    StoreReader,
    age_text,
    clock_text,
)
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Footer, Sparkline, Static

STYLE = {
    FRESH: "green",
    STALE: "yellow",
    CRITICAL: "bold red",
    WARN: "yellow",
    "ok": "green",
    "unknown": "dim",
}
SEVERITY_STYLE = {
    "OK": "green",
    "WARN": "yellow",
    "RECOVERABLE": "dark_orange",
    "CRITICAL": "bold red",
    "critical": "bold red",
    "warning": "yellow",
    "info": "cyan",
}
STATE_STYLE = {"ACTIVE": "bold green", "REDUCE_ONLY": "bold yellow", "HALTED": "bold red"}


def figure(value: Decimal | None) -> str:
    """A figure the reader quantised (to its product's or its currency's increment), as
    ``gpt_trader.domain.money`` writes it; ``-`` for none or zero."""
    return money.text(value) if value else "-"


def signed(value: Decimal) -> Text:
    return Text(money.text(value), style="green" if value > 0 else "red" if value < 0 else "")


_LEFT = {"symbol", "order", "guard", "message", "time", "side", "status", "source", "sev", "level"}


def _table(*columns: str) -> Table:
    table = Table(box=None, expand=True, padding=(0, 1), collapse_padding=True, pad_edge=False)
    for column in columns:
        name = column.strip()
        table.add_column(
            column,
            justify="left" if name in _LEFT else "right",
            no_wrap=name != "message",
            ratio=1 if name == "message" else None,
        )
    return table


class Panel(Static):
    """A bordered box with a title; its content is a rich renderable."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id)
        self.border_title = title


class DashboardApp(App[None]):
    """``DashboardApp(state_dir)``; ``clock`` (ns) and ``user`` are injectable for tests."""

    TITLE = "gpt-trader"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #status { height: 1; padding: 0 1; background: $boost; }
    #banner { height: auto; padding: 0 1; }
    #top { height: 1fr; }
    #positions { width: 3fr; }
    #pnl-box { width: 2fr; }
    #grid {
        grid-size: 2 2;
        grid-columns: 1fr 1fr;
        grid-rows: 1fr 1fr;
        height: 2fr;
    }
    Panel, #pnl-box { border: round $primary-darken-1; padding: 0 1; height: 100%; }
    #pnl-box { layout: vertical; }
    #pnl { height: auto; border: none; padding: 0; }
    #spark { height: 1fr; min-height: 2; }
    #alerts { height: 8; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause entries"),
        Binding("c", "cancel_all", "Cancel all"),
        Binding("r", "resume", "Resume"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        state_dir: Path,
        *,
        clock: Callable[[], int] = time.time_ns,
        poll_s: float = 1.0,
        user: str | None = None,
    ) -> None:
        super().__init__()
        self.state_dir = Path(state_dir)
        self.reader = StoreReader(self.state_dir)
        self.clock = clock
        self.poll_s = poll_s
        self.user = user or _user()
        self.data: Dashboard | None = None
        self.recorded: list[tuple[str, int]] = []

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="banner")
        with Horizontal(id="top"):
            yield Panel("Positions", id="positions")
            with Vertical(id="pnl-box"):
                yield Static(id="pnl")
                yield Sparkline([], id="spark")
        with Grid(id="grid"):
            yield Panel("Open orders", id="orders")
            yield Panel("Recent fills", id="fills")
            yield Panel("Data & execution", id="health")
            yield Panel("Guards", id="guards")
        yield Panel("Alerts", id="alerts")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pnl-box").border_title = "P&L"
        self.refresh_data()
        self.set_interval(self.poll_s, self.refresh_data)

    def on_unmount(self) -> None:
        self.reader.close()

    # -- data --------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        data = self.reader.read(self.clock())
        self.data = data
        self.query_one("#status", Static).update(self.status_line(data))
        self.query_one("#banner", Static).update(self.banner(data))
        self.query_one("#positions", Static).update(self.positions(data))
        self.query_one("#pnl", Static).update(self.pnl(data))
        self.query_one("#spark", Sparkline).data = data.pnl_series or [0.0]
        self.query_one("#orders", Static).update(self.orders(data))
        self.query_one("#fills", Static).update(self.fills(data))
        self.query_one("#health", Static).update(self.health(data))
        self.query_one("#guards", Static).update(self.guards(data))
        self.query_one("#alerts", Static).update(self.alerts(data))

    def status_line(self, d: Dashboard) -> Text:
        text = Text()
        run = d.run
        if run is None:
            text.append(f"{d.state_dir}: no run recorded yet", style="dim")
            return text
        text.append(f"{run.profile} ", style="bold")
        text.append(f"({run.mode}) run {run.run_id}  ")
        if not run.finished:
            text.append("RUNNING", style="bold green")
            text.append(f" since {clock_text(run.started_ts)}")
        else:
            text.append("STOPPED", style="bold red")
            text.append(f" {run.stop_reason}")
        text.append("  state ")
        text.append(d.trading_state, style=STATE_STYLE.get(d.trading_state, "bold"))
        if d.entries_paused:
            text.append(" entries paused", style="bold yellow")
        if d.pending_actions:
            text.append(f"  pending: {', '.join(d.pending_actions[-3:])}", style="yellow")
        text.append(f"  {clock_text(d.now)} UTC", style="dim")
        return text

    def banner(self, d: Dashboard) -> Text:
        banners = d.banners()
        if not banners:
            return Text(" OK  data fresh, execution healthy ", style="bold black on green")
        text = Text()
        for i, (level, message) in enumerate(banners):
            if i:
                text.append("\n")
            style = "bold white on red" if level == CRITICAL else "bold black on yellow"
            text.append(f" {message} ", style=style)
        return text

    def positions(self, d: Dashboard) -> RenderableType:
        """The bot's inventory (``bot``) beside what the account holds of a spot base
        (``account``): coins the bot did not buy are the account's only."""
        if not d.positions:
            return Text("flat", style="dim")
        table = _table(
            "symbol", "bot", "account", "entry", "mark", "stop", "target", "uPnL", "rPnL"
        )
        for p in d.positions:
            held = p.size != 0
            table.add_row(
                p.symbol,
                figure(p.size),
                figure(p.account),
                figure(p.avg_entry) if held else "-",
                figure(p.mark),
                figure(p.stop),
                figure(p.target),
                signed(p.unrealized) if held and p.mark else "-",
                signed(p.realized) if p.realized else "-",
            )
        return table

    def pnl(self, d: Dashboard) -> RenderableType:
        table = Table.grid(padding=(0, 2), expand=True)
        for _ in range(4):
            table.add_column(justify="right")
        p = d.pnl or {}
        zero = Decimal(0)
        table.add_row(
            "realised",
            signed(p.get("realized", zero)),
            "unrealised",
            signed(p.get("unrealized", zero)),
        )
        fees = p.get("fees", zero)
        table.add_row("fees", money.text(fees), "net", signed(p.get("net", zero)))
        if p.get("funding"):
            table.add_row("funding", signed(p["funding"]), "", "")
        table.add_row("exposure", money.text(d.exposure), "fills", str(d.fill_count))
        if d.equity is not None:
            # A running bot's equity is the one it last recorded (every few seconds).
            at = "" if d.equity_ts is None else clock_text(d.equity_ts)
            table.add_row("equity", money.text(d.equity), "as of" if at else "", at)
        caption = Text("net realised P&L, fill by fill (this run)", style="dim")
        return Group(table, caption)

    def orders(self, d: Dashboard) -> RenderableType:
        if not d.open_orders:
            return Text("no open orders", style="dim")
        table = _table("order", "symbol", "side", "size", "price", "status", "age")
        for o in d.open_orders:
            table.add_row(
                o.client_order_id[-6:],
                o.symbol,
                o.side,
                money.text(o.size),
                money.text(o.price) if o.price is not None else "mkt",
                "PARTIAL" if o.status == "PARTIALLY_FILLED" else o.status,
                age_text(o.age_s),
            )
        return table

    def fills(self, d: Dashboard) -> RenderableType:
        if not d.fills:
            return Text("no fills in this run", style="dim")
        table = _table("time", "symbol", "side", "size", "price", "fee")
        for f in d.fills:
            table.add_row(
                clock_text(f.ts),
                f.symbol,
                f.side,
                money.text(f.size),
                money.text(f.price),
                money.text(f.fee),
            )
        return table

    def health(self, d: Dashboard) -> RenderableType:
        parts: list[RenderableType] = []
        ex = d.execution
        if ex is not None:
            line = Text("execution ")
            if ex.success_rate is None:
                line.append("no submissions yet", style="dim")
            else:
                ok = ex.window - ex.window_failures
                line.append(
                    f"{ex.success_rate:.1%} ok ({ok}/{ex.window}) {ex.level}",
                    style=STYLE.get(ex.level, ""),
                )
            if ex.p95_latency_s is not None:
                line.append(f"  p95 {ex.p95_latency_s * 1000:.0f} ms ({ex.latency_source})")
            parts.append(line)
        for component, status in sorted(d.connections.items()):
            style = "bold red" if status == "disconnected" else "green"
            parts.append(Text(f"{component}: {status}", style=style))
        if not d.freshness:
            parts.append(Text("no market data recorded", style="dim"))
            return Group(*parts)
        # Two symbols a row: ten symbols fit the panel.
        table = _table("symbol", "age", "level", "symbol ", "age ", "level ")
        cells: list[RenderableType] = []
        for f in d.freshness:
            cells += [f.symbol, f"{f.age_s:.1f}s", Text(f.level, style=STYLE.get(f.level, ""))]
        cells += [""] * (-len(cells) % 6)
        for i in range(0, len(cells), 6):
            table.add_row(*cells[i : i + 6])
        parts.append(table)
        return Group(*parts)

    def guards(self, d: Dashboard) -> RenderableType:
        if not d.guards:
            return Text("no guard trips", style="dim")
        lines = Text()
        for guard, (severity, _) in sorted(d.guards.items()):
            lines.append(f"{guard:<28}")
            lines.append(f"{severity}\n", style=SEVERITY_STYLE.get(severity, ""))
        lines.append("last trips\n", style="bold")
        for t in d.trips[:4]:
            lines.append(f"{clock_text(t.ts)} {t.guard} ")
            lines.append(t.severity, style=SEVERITY_STYLE.get(t.severity, ""))
            lines.append(f" ({t.stage})\n  {t.message}\n")
        lines.rstrip()
        return lines

    def alerts(self, d: Dashboard) -> RenderableType:
        if not d.alerts:
            return Text("no alerts", style="dim")
        table = _table("time", "sev", "source", "message")
        for a in d.alerts[:6]:
            table.add_row(
                a.when,
                Text(a.severity, style=SEVERITY_STYLE.get(a.severity, "")),
                a.source,
                a.message,
            )
        return table

    # -- operator actions --------------------------------------------------------------------

    def _operator(self, action: str) -> None:
        from gpt_trader.control import record
        from gpt_trader.errors import UserError

        reason = f"{action} from the TUI by {self.user}"
        try:
            action_id = record(self.state_dir, action, reason)
        except (UserError, OSError) as exc:
            self.notify(f"{action} not recorded: {exc}", severity="error")
            return
        self.recorded.append((action, action_id))
        running = self.data is not None and self.data.run is not None and not self.data.run.finished
        when = "on its next guard tick" if running else "when it next starts"
        self.notify(f"{action} #{action_id} recorded; the bot applies it {when}")
        self.refresh_data()

    def action_pause(self) -> None:
        self._operator("pause")

    def action_resume(self) -> None:
        self._operator("resume")

    def action_cancel_all(self) -> None:
        self._operator("cancel-all")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
