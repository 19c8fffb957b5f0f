"""``gpt-trader status``: the bot's state as its store tells it, live while it runs.

A run's summary is written when it stops, so a running bot is read from the event log
instead, as the dashboard reads it: its last ``trading_state`` and ``entries_paused``
events, and its positions rebuilt from the recorded fills (as the kernel rebuilds them at
start). A run without a stop recorded is reported as running; a process that died stays
so until the next run on the state dir closes its record as ``crashed``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpt_trader.domain import Product, money
from gpt_trader.domain.market import ts_to_iso
from gpt_trader.engine.exits import exit_levels, is_bracket
from gpt_trader.engine.ledger import Ledger
from gpt_trader.output import orders_text, print_json, stdout

if TYPE_CHECKING:
    from gpt_trader.store import Store
    from gpt_trader.store.rows import RunRow

# How far a run's market clock may run ahead of this machine's before status says so
# (more than two machines' clocks drift apart).
CLOCK_AHEAD_NS = 60 * 1_000_000_000


def load_status(state_dir: Path, trips: int = 10) -> dict[str, Any]:
    from gpt_trader.store import Store
    from gpt_trader.store.db import existing_store

    db = existing_store(state_dir, "; run the bot there first")
    store = Store(db, create=False)
    try:
        last = store.last_run()
        running = last is not None and not last.finished
        # A crashed run has no summary either: its state comes from the log, like a live one.
        summary = dict(last.summary or {}) if last is not None else {}
        trip_rows = store.events(types=["guard.trip"], limit=trips, newest_first=True)
        state, state_reason = _trading_state(store, last, summary)
        counts = store.counts()
        positions = _with_levels(store, _positions(store, summary))
        return {
            "state_dir": str(state_dir),
            "runs": counts["runs"],
            "running": running,
            "last_run": None
            if last is None
            else {
                "run_id": last.run_id,
                "profile": last.profile,
                "mode": last.mode,
                "started_ts": last.started_ts,
                "stopped_ts": last.stopped_ts,
                "stop_reason": last.stop_reason,
                "running": running,
            },
            "trading_state": state,
            "state_reason": state_reason,
            "entries_paused": _entries_paused(store, last, summary),
            "pending_actions": [
                {"id": a.id, "action": a.action, "reason": a.reason}
                for a in store.operator_actions(pending_only=True)
            ],
            "counts": counts,
            "positions": positions,
            "holdings": _holdings(store, summary, positions),
            "working_orders": [o.client_order_id for o in store.working_orders()],
            "unconfirmed_cancels": _unconfirmed_cancels(store),
            "last_guard_trips": [row.payload.get("result", {}) for row in trip_rows],
            "pnl": summary.get("pnl", {}),
            "equity": _equity(store, last, summary),
            "connectivity": _connectivity(store, last, summary),
        }
    finally:
        store.close()


def _equity(store: Store, run: RunRow | None, summary: dict[str, Any]) -> dict[str, Any] | None:
    """A finished run's equity at its stop; a running one's as it last recorded it
    (``equity.marked``, every ``[run] equity_every_s``); None before any record. ``as_of``
    is the run's market clock; ``clock_ahead`` says it is ahead of this machine's (a
    simulated market's time runs faster than the wall clock: the dev profile's minute bars
    come a second apart)."""
    if run is None:
        return None
    if "equity" in summary:
        amount, ts = str(summary["equity"]), run.stopped_ts or 0
    else:
        marked = store.events(
            run_id=run.run_id, types=["equity.marked"], limit=1, newest_first=True
        )
        if not marked:
            return None
        amount, ts = str(marked[0].payload.get("equity", "")), marked[0].ts
    ahead = ts - time.time_ns() > CLOCK_AHEAD_NS
    return {"amount": amount, "as_of": ts_to_iso(ts), "clock_ahead": ahead}


def _connectivity(store: Store, run: RunRow | None, summary: dict[str, Any]) -> dict[str, Any]:
    """A finished run's outage figures; for a running one, the connections down now (from
    its ``connection.status`` events) and when they dropped."""
    if run is None:
        return {}
    if "connectivity" in summary:
        return dict(summary["connectivity"])
    rows = store.events(run_id=run.run_id, types=["connection.status"], newest_first=True)
    down: dict[str, str] = {}
    seen: set[str] = set()
    for row in rows:
        component = str(row.payload.get("component", ""))
        if component in seen:
            continue
        seen.add(component)
        if row.payload.get("status") == "disconnected":
            down[component] = f"since {ts_to_iso(row.ts)}: {row.payload.get('detail', '')}"
    outages = sum(1 for row in rows if row.payload.get("status") == "disconnected")
    return {"down": down, "outages": outages}


def _last_event(store: Store, run: RunRow, kind: str) -> dict[str, Any] | None:
    rows = store.events(run_id=run.run_id, types=[kind], limit=1, newest_first=True)
    return rows[0].payload if rows else None


def _trading_state(
    store: Store, run: RunRow | None, summary: dict[str, Any]
) -> tuple[str | None, str]:
    """The run's trading state and why it is not ACTIVE (a run starts ACTIVE unless the
    kernel restores a tighter state, which it logs as a change)."""
    if run is None:
        return None, ""
    change = _last_event(store, run, "trading_state") or {}
    state = str(summary.get("trading_state") or change.get("new") or "ACTIVE")
    reason = str(change.get("reason", "")) if change.get("new") == state else ""
    return state, reason


def _entries_paused(store: Store, run: RunRow | None, summary: dict[str, Any]) -> str:
    """Why new positions are held back, or "" when they are not."""
    if run is None:
        return ""
    if "entries_paused" in summary:
        return str(summary["entries_paused"] or "")
    event = _last_event(store, run, "entries_paused") or {}
    return str(event.get("reason") or "") if event.get("paused") else ""


def _positions(store: Store, summary: dict[str, Any]) -> list[dict[str, str]]:
    """Open positions: a finished run's from its summary (quantised by the kernel, which
    knew the products); otherwise rebuilt from every recorded fill and funding payment."""
    if "positions" in summary:
        return [
            {"symbol": p["symbol"], "size": p["size"], "avg_entry_price": p["avg_entry_price"]}
            for p in summary["positions"]
            if Decimal(p["size"]) != 0
        ]
    products = store.products()
    ledger = Ledger(products, Decimal(0))
    ledger.rebuild(store.fills(), store.adjustments())
    return [
        {
            "symbol": symbol,
            "size": _on(pos.size, products, symbol, "base_increment"),
            "avg_entry_price": _on(pos.avg_entry_price, products, symbol, "price_increment"),
        }
        for symbol, pos in sorted(ledger.positions.items())
        if pos.size != 0
    ]


def _unconfirmed_cancels(store: Store) -> list[dict[str, Any]]:
    """Orders flagged for reconciliation: the kernel gave up on their cancel (the venue
    neither confirmed it nor reported the order over) and the store still has them working."""
    last: dict[str, dict[str, Any]] = {}
    for row in store.events(types=["cancel.unconfirmed"]):
        last[row.payload["client_order_id"]] = row.payload
    out = []
    for cid, event in sorted(last.items()):
        order = store.order(cid)
        if event.get("resolved") or order is None or not order.status.is_working:
            continue
        out.append(
            {
                "client_order_id": cid,
                "symbol": event["symbol"],
                "attempts": event["attempts"],
                "since": ts_to_iso(int(event["since_ts"])),
            }
        )
    return out


def _with_levels(store: Store, positions: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each position with the stop and target of its working bracket or lone exit leg
    (the venue holds them, so a stopped bot's still stand), on the product's price
    increment; null for a level the position has none of."""
    products = store.products()
    brackets = {
        o.symbol: exit_levels(o) for o in store.working_orders() if is_bracket(o)
    }  # oldest first: a symbol's newest bracket wins

    def level(symbol: str, price: Decimal | None) -> str | None:
        return None if price is None else _on(price, products, symbol, "price_increment")

    out: list[dict[str, Any]] = []
    for p in positions:
        stop, target = brackets.get(p["symbol"], (None, None))
        out.append({**p, "stop": level(p["symbol"], stop), "target": level(p["symbol"], target)})
    return out


def _on(value: Decimal, products: dict[str, Product], symbol: str, increment: str) -> str:
    """``value`` on the recorded product's increment (as it is if the run never said)."""
    product = products.get(symbol)
    return money.at(value, getattr(product, increment)) if product else money.text(value)


def _holdings(
    store: Store, summary: dict[str, Any], positions: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Spot: what the account holds beside the bot's inventory. A finished run's from its
    summary; a running bot's account figure is the one its last run saved (the kernel
    reads the venue live; the store keeps it at each stop)."""
    if "holdings" in summary:
        return list(summary["holdings"])
    bot = {p["symbol"]: p["size"] for p in positions}
    return [
        {"symbol": symbol, "account": money.text(held), "bot": bot.get(symbol, "0")}
        for symbol, held in sorted(store.holdings().items())
        if held or symbol in bot
    ]


def _run_state(data: dict[str, Any]) -> str:
    last = data["last_run"]
    if last is None:
        return "no run yet"
    if data["running"]:
        return f"running since {ts_to_iso(last['started_ts'])}"
    return f"stopped: {last['stop_reason']}"


def _levels_text(position: dict[str, Any]) -> str:
    stop, target = position["stop"], position["target"]
    if stop is None and target is None:
        return ""
    return f", stop {stop or '-'}, target {target or '-'}"


def show_status(data: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    last = data["last_run"] or {}
    state = data["trading_state"] or "-"
    if data["state_reason"]:
        state = f"{state}: {data['state_reason']}"
    rows = [
        (
            "last run",
            f"{last.get('run_id', '-')} ({last.get('profile', '-')}, {last.get('mode', '-')})",
        ),
        ("state", _run_state(data)),
        ("trading state", state),
    ]
    if data["entries_paused"]:
        rows.append(("entries paused", data["entries_paused"]))
    rows += [
        ("pending", f"{a['action']} #{a['id']}: {a['reason']}") for a in data["pending_actions"]
    ]
    by_status = data["counts"].get("orders", {})
    rows += [
        ("runs", str(data["runs"])),
        ("orders", orders_text(sum(by_status.values()), by_status)),
        ("fills", str(data["counts"].get("fills", 0))),
        ("working orders", str(len(data["working_orders"]))),
    ]
    rows += [
        (
            "reconcile",
            f"{c['client_order_id']} on {c['symbol']}: cancel unconfirmed since {c['since']} "
            f"({c['attempts']} sent); no new entry on {c['symbol']} until the venue reports it",
        )
        for c in data["unconfirmed_cancels"]
    ]
    rows += [
        (f"position {p['symbol']}", f"{p['size']} @ {p['avg_entry_price']}{_levels_text(p)}")
        for p in data["positions"]
    ] or [("positions", "no open positions")]
    rows += [
        (f"holdings {h['symbol']}", f"account holds {h['account']}, bot inventory {h['bot']}")
        for h in data["holdings"]
        if h["account"] != h["bot"]
    ]
    if data["pnl"]:
        rows.append(("net P&L", str(data["pnl"].get("net", ""))))
    if data["equity"]:
        equity = data["equity"]
        when = f"as of {equity['as_of']}"
        if equity["clock_ahead"]:
            when += ", the simulated market's time: ahead of this machine's clock"
        rows.append(("equity", f"{equity['amount']} ({when})"))
    rows += _connectivity_rows(data.get("connectivity") or {})
    rows += [
        ("guard trip", f"{t.get('guard')} {t.get('severity')}: {t.get('message')}")
        for t in data["last_guard_trips"]
    ]
    table = Table(title=f"gpt-trader status — {data['state_dir']}", show_header=False)
    # Values are plain text: a reason or a path with brackets is not rich markup.
    for key, value in rows:
        table.add_row(key, Text(value))
    stdout.print(table)


def _connectivity_rows(conn: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(f"disconnected {name}", why) for name, why in conn.get("down", {}).items()]
    if "disconnected_s" in conn and conn.get("outages"):
        share = float(conn.get("disconnected_share", 0))
        line = f"{conn['disconnected_s']} s ({share:.0%} of the run) in {conn['outages']} outage(s)"
        rows.append(("venue unreachable", line))
    return rows


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        state_dir: Annotated[Path, typer.Option("--state-dir", help="The bot's state dir.")] = Path(
            "var/dev"
        ),
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show whether the bot runs, its trading state, positions, orders and guard trips."""
        data = load_status(state_dir)
        if as_json:
            print_json(data)
        else:
            show_status(data)
