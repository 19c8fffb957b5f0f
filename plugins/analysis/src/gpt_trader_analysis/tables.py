"""The exportable tables, read from a store over a read-only connection.

Each table is a list of columns (name, kind) and rows of plain values. Money, prices and
sizes stay the exact decimal text the store holds (``kind == "decimal"``); timestamps are
integer nanoseconds (``kind == "ts"``). ``equity`` is derived: each fill's realised P&L and
fee replayed through the kernel's ledger over every run, with the running net, on the quote
currency's increment (cents for USD).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.engine.ledger import Ledger
from gpt_trader.errors import UserError
from gpt_trader.monitor.increments import Increments
from gpt_trader.store.rows import fill_from_row, product_from_row

DB_FILE = "gpt_trader.db"
DECIMAL, TS, TEXT, INT = "decimal", "ts", "text", "int"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]


_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "fills": [
        ("trade_id", TEXT), ("client_order_id", TEXT), ("order_id", TEXT), ("run_id", TEXT),
        ("symbol", TEXT), ("side", TEXT), ("price", DECIMAL), ("size", DECIMAL),
        ("fee", DECIMAL), ("liquidity", TEXT), ("ts", TS),
    ],
    "orders": [
        ("client_order_id", TEXT), ("run_id", TEXT), ("order_id", TEXT), ("symbol", TEXT),
        ("side", TEXT), ("order_type", TEXT), ("time_in_force", TEXT), ("size", DECIMAL),
        ("limit_price", DECIMAL), ("stop_price", DECIMAL), ("status", TEXT),
        ("filled_size", DECIMAL), ("avg_fill_price", DECIMAL), ("fees", DECIMAL),
        ("created_ts", TS), ("updated_ts", TS), ("reject_reason", TEXT), ("tag", TEXT),
    ],
    "events": [("id", INT), ("run_id", TEXT), ("ts", TS), ("type", TEXT), ("payload", TEXT)],
    "positions": [
        ("symbol", TEXT), ("size", DECIMAL), ("avg_entry_price", DECIMAL),
        ("realized_pnl", DECIMAL), ("fees", DECIMAL), ("funding", DECIMAL),
        ("mark_price", DECIMAL), ("updated_ts", TS), ("run_id", TEXT),
    ],
}  # fmt: skip
EQUITY_COLUMNS = [
    ("ts", TS), ("run_id", TEXT), ("symbol", TEXT), ("trade_id", TEXT),
    ("realized_pnl", DECIMAL), ("fee", DECIMAL), ("net", DECIMAL), ("cumulative_net", DECIMAL),
]  # fmt: skip
TABLES = (*_COLUMNS, "equity")
# The column each table is filtered on by --since.
_TIME = {"fills": "ts", "orders": "created_ts", "events": "ts", "positions": "updated_ts"}


@contextmanager
def read_only(state_dir: Path) -> Iterator[sqlite3.Connection]:
    db = state_dir / DB_FILE
    if not db.is_file():
        raise UserError(f"no store in {state_dir} (expected {db}); run the bot there first")
    conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA query_only = ON")
        yield conn
    except sqlite3.DatabaseError as exc:
        raise UserError(f"cannot read {db}: {exc}") from None
    finally:
        conn.close()


def read_table(
    conn: sqlite3.Connection, name: str, since_ns: int | None = None, run: str | None = None
) -> Table:
    if name == "equity":
        return _equity(conn, since_ns, run)
    columns = _COLUMNS[name]
    where, params = _filters(name, since_ns, run)
    select = ", ".join(c for c, _ in columns)
    order = _TIME[name] if name != "events" else "id"
    rows = conn.execute(
        f"SELECT {select} FROM {name}{where} ORDER BY {order}",  # noqa: S608 - fixed names
        params,
    ).fetchall()
    return Table(name, columns, [tuple(r) for r in rows])


def _filters(name: str, since_ns: int | None, run: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since_ns is not None:
        clauses.append(f"{_TIME.get(name, 'ts')} >= ?")
        params.append(since_ns)
    if run is not None:
        clauses.append("run_id = ?")
        params.append(run)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _equity(conn: sqlite3.Connection, since_ns: int | None, run: str | None) -> Table:
    products = {p.symbol: p for p in map(product_from_row, conn.execute("SELECT * FROM products"))}
    # Money on the quote currency's increment, as every figure the bot prints; the running
    # net is the sum of the rounded figures, so the column adds up.
    inc = Increments()
    inc.products = products
    # One ledger over every run: a restarted bot carries its positions into the next run.
    ledger = Ledger(dict(products), ZERO)
    cumulative = ZERO
    rows: list[tuple[Any, ...]] = []
    for fill_row in conn.execute("SELECT * FROM fills ORDER BY ts, rowid"):
        fill = fill_from_row(fill_row)
        run_id = fill_row["run_id"]
        realized = inc.cash(ledger.apply_fill(fill), fill.symbol)
        net = realized - inc.cash(fill.fee, fill.symbol)
        cumulative += net
        if (since_ns is None or fill.ts >= since_ns) and (run is None or run_id == run):
            rows.append(
                (fill.ts, run_id, fill.symbol, fill.trade_id, str(realized), str(fill.fee),
                 str(net), str(cumulative))
            )  # fmt: skip
    return Table("equity", EQUITY_COLUMNS, rows)
