"""What the dashboard shows, read from a bot's store over a read-only SQLite connection.

:class:`StoreReader` tails the event log by id (it is append-only, ids are never reused), so
each poll reads only what is new; orders, fills and positions come from their tables. It
never writes: operator actions go through :func:`gpt_trader.control.record`, as
the CLI's do. Everything here is plain data, so it is tested without a terminal.

Freshness of market data is the age of the last market event per symbol (a candle counts
at its close, as the kernel counts it) against ``now``: fresh under 10 s, stale to 30 s,
critical above, and critical for every symbol while a venue connection is down
(``connection.status`` / a failed feed component, see ``gpt_trader_ops.conventions``).

The trading state and a pause of entries are the kernel's own, from its ``trading_state``
and ``entries_paused`` events in the current run (whoever paused: an operator, a feed's
resync, stale or lost market data). A running bot's positions are its inventory rebuilt
from every recorded fill and inventory adjustment as the kernel rebuilds it at a restart
(``Ledger.rebuild``), marked at the last market price; a finished one's are the positions
it saved. Every figure is quantised (:mod:`gpt_trader.monitor.increments`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpt_trader.domain import Fill, OrderType, Position, Side
from gpt_trader.engine.exits import LEG_TAGS
from gpt_trader.engine.ledger import Ledger
from gpt_trader.execution_stats import ExecutionHealth, ExecutionStats
from gpt_trader.monitor.increments import Increments
from gpt_trader.store.rows import (
    RunRow,
    adjustment_from_row,
    fill_from_row,
    funding_from_row,
    position_from_row,
    product_from_row,
    run_from_row,
)

NS = 1_000_000_000
ZERO = Decimal(0)
DB_FILE = "gpt_trader.db"
ALERTS_FILE = "alerts.jsonl"

FRESH_S = 10.0
CRITICAL_S = 30.0
# The dashboard calls execution degraded sooner than the alerts do (they wait for 10).
EXEC_MIN_SUBMISSIONS = 5
WORKING = ("PENDING", "UNKNOWN", "OPEN", "PARTIALLY_FILLED")
PNL_KINDS = ("realized", "unrealized", "fees", "funding", "net")
# Events the dashboard uses; signals, decisions and market data are read apart or not at all.
_TYPES = (
    "run.started",
    "equity.marked",
    "fill",
    "funding",
    "run.stopped",
    "order.intent",
    "order.updated",
    "order.rejected",
    "guard.trip",
    "trading_state",
    "entries_paused",
    "inventory.adjusted",
    "component.failed",
    "connection.status",
    "rest.call",
)

FRESH, STALE, CRITICAL, UNKNOWN = "fresh", "stale", "critical", "unknown"
OK, WARN = "ok", "warn"


@dataclass(frozen=True)
class Freshness:
    symbol: str
    last_ts: int
    price: Decimal | None
    age_s: float
    level: str


@dataclass(frozen=True)
class PositionRow:
    """The bot's position (``size``: its inventory) and, on spot, what the account holds
    of the base (``account``; None when not known, as for a derivative)."""

    symbol: str
    size: Decimal
    avg_entry: Decimal
    mark: Decimal
    unrealized: Decimal
    realized: Decimal
    account: Decimal | None = None
    stop: Decimal | None = None  # the levels of its working bracket, if it has one
    target: Decimal | None = None


@dataclass(frozen=True)
class OrderRow:
    client_order_id: str
    symbol: str
    side: str
    size: Decimal
    price: Decimal | None
    status: str
    filled: Decimal
    age_s: float
    stop: Decimal | None = None  # a stop or a bracket's stop leg
    tag: str = ""  # what placed it: a signal's name, exit:bracket, exit:trailing, ...


@dataclass(frozen=True)
class FillRow:
    ts: int
    symbol: str
    side: str
    size: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Trip:
    ts: int
    guard: str
    severity: str
    stage: str
    message: str


@dataclass(frozen=True)
class AlertRow:
    when: str
    severity: str
    source: str
    message: str


@dataclass
class Dashboard:
    state_dir: str
    now: int
    run: RunRow | None = None
    runs: int = 0
    trading_state: str = "ACTIVE"
    state_reason: str = ""
    entries_paused: bool = False
    pause_reason: str = ""
    pending_actions: list[str] = field(default_factory=list)
    positions: list[PositionRow] = field(default_factory=list)
    open_orders: list[OrderRow] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    fill_count: int = 0
    pnl: dict[str, Decimal] = field(default_factory=dict)
    equity: Decimal | None = None
    # When a running bot last recorded its equity (None: a finished run's, from its summary).
    equity_ts: int | None = None
    exposure: Decimal = ZERO
    warnings: list[str] = field(default_factory=list)
    pnl_series: list[float] = field(default_factory=list)
    guards: dict[str, tuple[str, str]] = field(default_factory=dict)
    trips: list[Trip] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    connections: dict[str, str] = field(default_factory=dict)
    execution: ExecutionHealth | None = None
    alerts: list[AlertRow] = field(default_factory=list)
    error: str = ""

    @property
    def data_level(self) -> str:
        levels = {f.level for f in self.freshness}
        for level in (CRITICAL, STALE, FRESH):
            if level in levels:
                return level
        return UNKNOWN

    def banners(self) -> list[tuple[str, str]]:
        """``(level, text)`` lines for the top of the screen, worst first."""
        out: list[tuple[str, str]] = []
        run = self.run
        if self.error:
            out.append((CRITICAL, self.error))
        if run is not None and run.finished:
            level = CRITICAL if run.stop_reason in ("error", "crashed", "feed_ended") else WARN
            out.append((level, f"BOT STOPPED ({run.stop_reason}) at {clock_text(run.stopped_ts)}"))
            out += [(WARN, warning) for warning in self.warnings]
        if self.trading_state == "HALTED":
            out.append((CRITICAL, f"TRADING HALTED: {self.state_reason}"))
        elif self.trading_state == "REDUCE_ONLY":
            out.append((WARN, f"REDUCE-ONLY: {self.state_reason}"))
        if self.entries_paused:
            out.append((WARN, f"ENTRIES PAUSED: {self.pause_reason}"))
        if run is not None and not run.finished:
            down = [c for c, s in self.connections.items() if s == "disconnected"]
            if down:
                out.append((CRITICAL, f"CONNECTION DOWN: {', '.join(down)}"))
            critical = [f for f in self.freshness if f.level == CRITICAL]
            stale = [f for f in self.freshness if f.level == STALE]
            if critical or stale:
                parts = []
                if critical:
                    parts.append(f"CRITICAL {_ages(critical)}")
                if stale:
                    parts.append(f"STALE {_ages(stale)}")
                out.append((CRITICAL if critical else WARN, f"DATA {'; '.join(parts)}"))
            ex = self.execution
            if ex is not None and ex.level in (WARN, CRITICAL) and ex.success_rate is not None:
                level = CRITICAL if ex.level == CRITICAL else WARN
                text = f"EXECUTION {'CRITICAL' if level == CRITICAL else 'DEGRADED'}"
                out.append((level, f"{text}: {ex.success_rate:.0%} of submissions succeeded"))
        order = {CRITICAL: 0, WARN: 1}
        return sorted(out, key=lambda b: order.get(b[0], 2))


def _ages(rows: list[Freshness], limit: int = 4) -> str:
    text = ", ".join(f"{f.symbol} {f.age_s:.0f}s" for f in rows[:limit])
    return text + (f" (+{len(rows) - limit})" if len(rows) > limit else "")


def age_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def clock_text(ts: int | None) -> str:
    if ts is None:
        return "-"
    seconds = ts // NS
    h, m, s = (seconds // 3600) % 24, (seconds // 60) % 60, seconds % 60
    return f"{h:02d}:{m:02d}:{s:02d}"


def freshness_level(age_s: float, connection_down: bool = False) -> str:
    if connection_down or age_s > CRITICAL_S:
        return CRITICAL
    if age_s >= FRESH_S:
        return STALE
    return FRESH


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ZERO


class _RunState:
    """What the reader has gathered about one run from the log."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.execution = ExecutionStats(min_submissions=EXEC_MIN_SUBMISSIONS)
        self.fill_count = 0
        self.cum_net = ZERO
        self.series: deque[float] = deque(maxlen=240)
        # The kernel's own state in this run: it starts ACTIVE and unpaused, and says so
        # in an event whenever that changes (a restored state included).
        self.trading_state = ("ACTIVE", "")
        self.pause_reason = ""
        # What the account held of a spot base when the kernel last adjusted the bot's
        # inventory: symbol -> (ts, size).
        self.held: dict[str, tuple[int, Decimal]] = {}
        # The kernel's equity as it last recorded it: (ts, equity).
        self.equity: tuple[int, Decimal] | None = None

    def observe(self, kind: str, ts: int, payload: dict[str, Any]) -> None:
        self.execution.observe(payload, kind, ts)
        if kind == "equity.marked":
            self.equity = (ts, _dec(payload.get("equity", 0)))
        elif kind == "trading_state":
            self.trading_state = (str(payload.get("new", "ACTIVE")), str(payload.get("reason", "")))
        elif kind == "entries_paused":
            paused = bool(payload.get("paused"))
            self.pause_reason = str(payload.get("reason", "")) if paused else ""
        elif kind == "inventory.adjusted" and payload.get("account") is not None:
            symbol = str((payload.get("adjustment") or {}).get("symbol", ""))
            self.held[symbol] = (ts, _dec(payload["account"]))
        elif kind == "fill":
            fee = _dec((payload.get("fill") or {}).get("fee", 0))
            self.cum_net += _dec(payload.get("realized_pnl", 0)) - fee
            self.series.append(float(self.cum_net))
            self.fill_count += 1
        elif kind == "funding":
            self.cum_net += _dec((payload.get("payment") or {}).get("amount", 0))
            self.series.append(float(self.cum_net))


class StoreReader:
    """Polls one state dir's store; :meth:`read` returns a fresh :class:`Dashboard`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.db_path = self.state_dir / DB_FILE
        self._conn: sqlite3.Connection | None = None
        self._event_id = 0
        self._market_id = 0
        self._market: dict[str, tuple[int, Decimal | None]] = {}
        self._runs: dict[str, _RunState] = {}
        self._trips: deque[Trip] = deque(maxlen=12)
        self._guards: dict[str, tuple[str, str]] = {}
        self._connections: dict[str, str] = {}
        self.increments = Increments()
        # The bot's inventory as a restart rebuilds it: every fill, inventory adjustment
        # and funding payment recorded, applied once each (tailed by rowid / id).
        self._ledger: Ledger | None = None
        self._fill_rowid = 0
        self._adjustment_id = 0
        self._funding_rowid = 0
        self._event_alerts: deque[tuple[int, AlertRow]] = deque(maxlen=20)

    # -- plumbing ----------------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.db_path.is_file():
                raise FileNotFoundError(f"no store in {self.state_dir} (expected {self.db_path})")
            uri = f"file:{self.db_path.resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only = ON")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.connect().execute(sql, params).fetchall())

    # -- reading -----------------------------------------------------------------------------

    def read(self, now: int) -> Dashboard:
        data = Dashboard(state_dir=str(self.state_dir), now=now)
        try:
            self._read(data)
        except (sqlite3.Error, OSError) as exc:
            self.close()
            data.error = f"cannot read the store: {exc}"
        return data

    def _read(self, data: Dashboard) -> None:
        runs = self._rows("SELECT * FROM runs ORDER BY started_ts, rowid")
        data.runs = len(runs)
        summaries = [json.loads(r["summary"] or "{}") for r in runs]
        if runs:
            data.run = run_from_row(runs[-1])
        quotes = [str(x["quote_currency"]) for x in summaries if x.get("quote_currency")]
        if quotes:
            self.increments.quote = quotes[-1]
        self.increments.products = {
            p.symbol: p for p in map(product_from_row, self._rows("SELECT * FROM products"))
        }
        self._tail_events()
        self._tail_market()
        self._tail_book()
        run = data.run
        current = self._run_state(run.run_id) if run is not None else None
        if current is not None:
            data.trading_state, data.state_reason = current.trading_state
            data.pause_reason = current.pause_reason
        if run is not None and run.finished:
            # The run's last word; a stopped bot holds no entries back.
            data.trading_state = str(run.summary.get("trading_state") or data.trading_state)
            data.pause_reason = ""
            data.warnings = [str(w) for w in run.summary.get("warnings") or ()]
            if run.summary.get("entries_paused"):
                paused = run.summary["entries_paused"]
                data.warnings.append(f"entries were paused at the end: {paused}")
        data.entries_paused = bool(data.pause_reason)
        self._pending_actions(data)
        self._orders_and_fills(data, current)
        data.guards = dict(self._guards)
        data.trips = list(reversed(self._trips))
        data.connections = dict(self._connections)
        down = any(s == "disconnected" for s in self._connections.values())
        data.freshness = [
            Freshness(sym, ts, shown, age, freshness_level(age, down))
            for sym, (ts, price) in sorted(self._market.items())
            for age in [max(0.0, (data.now - ts) / NS)]
            for shown in [None if price is None else self.increments.price(sym, price)]
        ]
        data.execution = current.execution.health() if current is not None else None
        data.alerts = self._alerts()

    def _run_state(self, run_id: str) -> _RunState:
        state = self._runs.get(run_id)
        if state is None:
            state = self._runs[run_id] = _RunState(run_id)
        return state

    def _tail_events(self) -> None:
        marks = ",".join("?" * len(_TYPES))
        while True:
            rows = self._rows(
                f"SELECT id, run_id, ts, type, payload FROM events "  # noqa: S608 - placeholders only
                f"WHERE id > ? AND type IN ({marks}) ORDER BY id LIMIT 5000",
                (self._event_id, *_TYPES),
            )
            for row in rows:
                self._event(row["run_id"], row["ts"], row["type"], json.loads(row["payload"]))
            if not rows:
                return
            self._event_id = rows[-1]["id"]

    def _event(self, run_id: str, ts: int, kind: str, payload: dict[str, Any]) -> None:
        self._run_state(run_id).observe(kind, ts, payload)
        if kind == "guard.trip":
            result = payload.get("result") or {}
            guard = str(result.get("guard", ""))
            severity = str(result.get("severity", ""))
            message = str(result.get("message", ""))
            self._guards[guard] = (severity, message)
            if severity != "OK":
                self._trips.append(
                    Trip(ts, guard, severity, str(payload.get("stage", "")), message)
                )
        elif kind == "connection.status":
            status = str(payload.get("status", ""))
            self._connections[str(payload.get("component", ""))] = (
                "disconnected" if status == "disconnected" else "connected"
            )
        elif kind == "component.failed":
            component = str(payload.get("component", ""))
            error = str(payload.get("error", ""))
            severity = "warning"
            if component.startswith("feed") or "ws" in component:
                reconnected = error.lower().startswith("reconnected")
                self._connections[component] = "connected" if reconnected else "disconnected"
                severity = "info" if reconnected else "critical"
            self._event_alerts.append((ts, AlertRow(clock_text(ts), severity, component, error)))
        elif kind == "order.rejected" and payload.get("source") == "venue":
            request = payload.get("request") or {}
            self._event_alerts.append(
                (
                    ts,
                    AlertRow(
                        clock_text(ts),
                        "warning",
                        "venue",
                        f"{request.get('client_order_id', '')} rejected: {payload.get('reason', '')}",
                    ),
                )
            )
        elif kind == "run.started":
            self._connections.clear()

    def _tail_market(self) -> None:
        rows = self._rows(
            "SELECT max(id) AS id, json_extract(payload, '$.event.symbol') AS symbol "
            "FROM events WHERE type = 'market' AND id > ? GROUP BY symbol",
            (self._market_id,),
        )
        if not rows:
            return
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        for row in self._rows(
            f"SELECT payload FROM events WHERE id IN ({marks})",  # noqa: S608 - placeholders only
            tuple(ids),
        ):
            event = json.loads(row["payload"]).get("event") or {}
            ts = int(event.get("ts", 0))
            if event.get("kind") == "Candle":
                ts += int(event.get("interval_s", 60)) * NS
            price = event.get("close") or event.get("price")
            symbol = str(event.get("symbol", ""))
            value = _dec(price) if price is not None else None
            known = self._market.get(symbol)
            if known is None or ts >= known[0]:
                self._market[symbol] = (ts, value)
        self._market_id = max(self._market_id, *ids)

    def _tail_book(self) -> None:
        """Apply the fills, inventory adjustments and funding payments recorded since the
        last read to the bot's inventory, as the kernel rebuilds it at a restart."""
        if self._ledger is None:
            # The recorded products give each position its contract size.
            self._ledger = Ledger(dict(self.increments.products), ZERO)
        fills: list[Fill] = []
        for r in self._rows(
            "SELECT rowid AS rid, * FROM fills WHERE rowid > ? ORDER BY rowid",
            (self._fill_rowid,),
        ):
            fill = fill_from_row(r)
            fills.append(fill)
            self._fill_rowid = r["rid"]
        adjustments = self._rows(
            "SELECT * FROM inventory_adjustments WHERE id > ? ORDER BY id", (self._adjustment_id,)
        )
        if adjustments:
            self._adjustment_id = adjustments[-1]["id"]
        self._ledger.rebuild(fills, [adjustment_from_row(r) for r in adjustments])
        for r in self._rows(
            "SELECT rowid AS rid, * FROM funding WHERE rowid > ? ORDER BY rowid",
            (self._funding_rowid,),
        ):
            self._ledger.apply_funding(funding_from_row(r))
            self._funding_rowid = r["rid"]

    def _pending_actions(self, data: Dashboard) -> None:
        """Operator actions recorded and not yet applied by a bot (their effect, once
        applied, is the kernel's and shows in its events)."""
        for row in self._rows("SELECT * FROM operator_actions WHERE applied_run_id IS NULL"):
            data.pending_actions.append(f"{row['action']} #{row['id']}")

    def _orders_and_fills(self, data: Dashboard, current: _RunState | None) -> None:
        inc = self.increments
        marks = ",".join("?" * len(WORKING))
        for r in self._rows(
            f"SELECT * FROM orders WHERE status IN ({marks}) "  # noqa: S608 - placeholders only
            "ORDER BY created_ts DESC, rowid DESC LIMIT 12",
            WORKING,
        ):
            symbol = r["symbol"]
            limit = r["limit_price"]
            stop = r["stop_price"]
            data.open_orders.append(
                OrderRow(
                    r["client_order_id"],
                    symbol,
                    r["side"],
                    inc.size(symbol, _dec(r["size"])),
                    inc.price(symbol, _dec(limit)) if limit is not None else None,
                    r["status"],
                    inc.size(symbol, _dec(r["filled_size"])),
                    max(0.0, (data.now - r["created_ts"]) / NS),
                    inc.price(symbol, _dec(stop)) if stop is not None else None,
                    r["tag"],
                )
            )
        run = data.run
        if run is None or current is None:
            return
        for r in self._rows(
            "SELECT * FROM fills WHERE run_id = ? ORDER BY ts DESC, rowid DESC LIMIT 10",
            (run.run_id,),
        ):
            symbol = r["symbol"]
            data.fills.append(
                FillRow(
                    r["ts"],
                    symbol,
                    r["side"],
                    inc.size(symbol, _dec(r["size"])),
                    inc.price(symbol, _dec(r["price"])),
                    inc.cash(_dec(r["fee"]), symbol),
                )
            )
        data.fill_count = current.fill_count
        data.pnl_series = list(current.series)
        self._positions(data, run, current)

    def _positions(self, data: Dashboard, run: RunRow, current: _RunState) -> None:
        """The bot's positions beside what the account holds: a running bot's rebuilt
        inventory at the last market prices, or what a finished one saved."""
        inc = self.increments
        table = {r["symbol"]: r for r in self._rows("SELECT * FROM positions ORDER BY symbol")}
        if not run.finished and self._ledger is not None:
            positions = dict(self._ledger.positions)
            for symbol, (_, price) in self._market.items():
                if price is not None and symbol in positions:
                    positions[symbol].mark_price = price
            held = self._account(table, current)
            if current.equity is not None:
                data.equity_ts, equity = current.equity
                data.equity = inc.cash(equity)
            figures = {
                "realized": sum((p.realized_pnl for p in positions.values()), ZERO),
                "unrealized": sum((p.unrealized_pnl for p in positions.values()), ZERO),
                "fees": sum((p.fees for p in positions.values()), ZERO),
                "funding": sum((p.funding for p in positions.values()), ZERO),
            }
            figures["net"] = (
                figures["realized"] + figures["unrealized"] + figures["funding"] - figures["fees"]
            )
        else:
            positions = {symbol: position_from_row(r) for symbol, r in table.items()}
            held = {s: _dec(r["account_size"]) for s, r in table.items() if r["account_size"]}
            pnl = run.summary.get("pnl") or {}
            figures = {k: _dec(pnl.get(k, 0)) for k in PNL_KINDS}
            if "equity" in run.summary:
                data.equity = inc.cash(_dec(run.summary["equity"]))
        data.pnl = {kind: inc.cash(value) for kind, value in figures.items()}
        data.exposure = inc.cash(sum((p.notional() for p in positions.values()), ZERO))
        shown = [
            p
            for symbol, p in positions.items()
            if p.size != 0 or p.realized_pnl != 0 or held.get(symbol)
        ]
        shown += [Position(s) for s, size in held.items() if size and s not in positions]
        levels = self._bracket_levels()
        data.positions = [
            PositionRow(
                p.symbol,
                inc.size(p.symbol, p.size),
                inc.price(p.symbol, p.avg_entry_price),
                inc.price(p.symbol, p.mark_price),
                inc.cash(p.unrealized_pnl, p.symbol),
                inc.cash(p.realized_pnl, p.symbol),
                inc.size(p.symbol, held[p.symbol]) if p.symbol in held else None,
                *levels.get(p.symbol, (None, None)),
            )
            for p in sorted(shown, key=lambda p: (-p.notional(), p.symbol))
        ]

    def _bracket_levels(self) -> dict[str, tuple[Decimal | None, Decimal | None]]:
        """Each symbol's stop and target: the trigger and take-profit limit of its working
        bracket or lone exit leg (the newest, should there be two), on the product's price
        increment."""
        inc = self.increments
        marks = ",".join("?" * len(WORKING))
        legs = ",".join("?" * len(LEG_TAGS))
        out: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        for r in self._rows(
            f"SELECT symbol, order_type, stop_price, limit_price FROM orders "  # noqa: S608 - placeholders only
            f"WHERE (order_type = ? OR (order_type != ? AND tag IN ({legs}))) "
            f"AND status IN ({marks}) ORDER BY created_ts, rowid",
            (OrderType.BRACKET.value, OrderType.MARKET.value, *sorted(LEG_TAGS), *WORKING),
        ):
            symbol = r["symbol"]
            stop, target = r["stop_price"], r["limit_price"]
            if r["order_type"] == OrderType.STOP_LIMIT.value:
                target = None  # a lone stop's limit is its fill's room, not a target
            elif r["order_type"] == OrderType.LIMIT.value:
                stop = None
            out[symbol] = (
                None if stop is None else inc.price(symbol, _dec(stop)),
                None if target is None else inc.price(symbol, _dec(target)),
            )
        return out

    def _account(self, table: dict[str, sqlite3.Row], current: _RunState) -> dict[str, Decimal]:
        """What the account holds of each spot base as far as the store tells: the kernel's
        figure at this run's last inventory adjustment, else at the last save; moved since
        by this run's fills, as the kernel moves it."""
        out: dict[str, Decimal] = {}
        saved = {s for s, r in table.items() if r["account_size"]}
        for symbol in sorted(saved | set(current.held)):
            since, held = current.held.get(symbol) or (-1, _dec(table[symbol]["account_size"]))
            for r in self._rows(
                "SELECT side, size FROM fills WHERE run_id = ? AND symbol = ? AND ts > ?",
                (current.run_id, symbol, since),
            ):
                size = _dec(r["size"])
                held += size if r["side"] == Side.BUY.value else -size
            out[symbol] = held
        return out

    def _alerts(self) -> list[AlertRow]:
        out: list[AlertRow] = []
        path = self.state_dir / ALERTS_FILE
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    fh.seek(max(0, path.stat().st_size - 32_768))
                    tail = fh.read().decode("utf-8", "replace").splitlines()[-8:]
            except OSError:
                tail = []
            for line in reversed(tail):
                try:
                    a = json.loads(line)
                except ValueError:
                    continue
                when = str(a.get("time", ""))[11:19]
                out.append(
                    AlertRow(
                        when,
                        str(a.get("severity", "")),
                        str(a.get("rule", "")),
                        str(a.get("message", "")),
                    )
                )
        out += [row for _, row in reversed(self._event_alerts)]
        return out[:10]
