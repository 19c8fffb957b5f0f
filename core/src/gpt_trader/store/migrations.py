"""Schema migrations: small functions applied once, in order, recorded in ``_migrations``.

Add a change by appending a new ``@migration`` function; never edit or reorder one that
has shipped. Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with
its record, so a failure leaves it pending and two processes opening one store at once do
not both apply it.

Money columns are TEXT holding exact ``str(Decimal)`` values, never REAL; timestamps are
INTEGER nanoseconds since the epoch, UTC; ``*_json`` style columns (``summary``,
``payload``, ``trade_ids``) hold JSON text. Tables are STRICT where SQLite supports it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration; its ``__name__`` is its recorded name."""
    MIGRATIONS.append(fn)
    return fn


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply every pending migration; returns the names applied (empty when up to date)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    done = applied(db)
    ran: list[str] = []
    for fn in MIGRATIONS:
        name = fn.__name__
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if name not in applied(db):
                fn(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    [name, time.time_ns()],
                )
                ran.append(name)
        except BaseException:
            db.rollback()
            raise
        db.commit()
    return ran


def applied(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}


def _strict(db: sqlite3.Connection) -> str:
    # STRICT (SQLite 3.37+) rejects an INTEGER timestamp given as text and the like.
    return " STRICT" if sqlite3.sqlite_version_info >= (3, 37, 0) else ""


@migration
def m001_runs(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            profile TEXT NOT NULL,
            mode TEXT NOT NULL,
            started_ts INTEGER NOT NULL,
            stopped_ts INTEGER,
            stop_reason TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '{}',
            resumed_from TEXT NOT NULL DEFAULT ''
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_runs_started ON runs (started_ts)")


@migration
def m002_events(db: sqlite3.Connection) -> None:
    # AUTOINCREMENT: ids are never reused, so readers can tail the log with ``id > last``.
    db.execute(
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_events_run ON events (run_id, id)")
    db.execute("CREATE INDEX idx_events_type ON events (type)")
    db.execute(
        """
        CREATE TRIGGER events_append_only BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"""
    )


@migration
def m003_orders(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE orders (
            client_order_id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            order_id TEXT NOT NULL DEFAULT '',
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            order_type TEXT NOT NULL,
            time_in_force TEXT NOT NULL,
            size TEXT NOT NULL,
            limit_price TEXT,
            stop_price TEXT,
            end_ts INTEGER,
            leverage TEXT,
            status TEXT NOT NULL,
            filled_size TEXT NOT NULL DEFAULT '0',
            avg_fill_price TEXT NOT NULL DEFAULT '0',
            fees TEXT NOT NULL DEFAULT '0',
            created_ts INTEGER NOT NULL,
            updated_ts INTEGER NOT NULL,
            reject_reason TEXT NOT NULL DEFAULT '',
            tag TEXT NOT NULL DEFAULT '',
            post_only INTEGER NOT NULL DEFAULT 0,
            reduce_only INTEGER NOT NULL DEFAULT 0,
            trade_ids TEXT NOT NULL DEFAULT '[]'
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_orders_status ON orders (status)")
    db.execute("CREATE INDEX idx_orders_run ON orders (run_id, created_ts)")
    db.execute("CREATE INDEX idx_orders_order_id ON orders (order_id)")


@migration
def m004_fills(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE fills (
            trade_id TEXT PRIMARY KEY,
            client_order_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            price TEXT NOT NULL,
            size TEXT NOT NULL,
            fee TEXT NOT NULL,
            liquidity TEXT NOT NULL,
            ts INTEGER NOT NULL
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_fills_ts ON fills (ts)")
    db.execute("CREATE INDEX idx_fills_order ON fills (client_order_id)")
    db.execute("CREATE INDEX idx_fills_run ON fills (run_id, ts)")
    db.execute(
        """
        CREATE TRIGGER fills_immutable BEFORE UPDATE ON fills
        BEGIN SELECT RAISE(ABORT, 'fills are immutable'); END"""
    )


@migration
def m005_positions(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE positions (
            symbol TEXT PRIMARY KEY,
            size TEXT NOT NULL,
            avg_entry_price TEXT NOT NULL,
            realized_pnl TEXT NOT NULL,
            fees TEXT NOT NULL,
            funding TEXT NOT NULL,
            mark_price TEXT NOT NULL,
            contract_size TEXT NOT NULL DEFAULT '1',
            updated_ts INTEGER NOT NULL,
            run_id TEXT NOT NULL
        )"""
        + _strict(db)
    )


@migration
def m006_operator_actions(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE operator_actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts INTEGER NOT NULL,
            action TEXT NOT NULL,
            reason TEXT NOT NULL,
            applied_run_id TEXT
        )"""
        + _strict(db)
    )


@migration
def m007_funding(db: sqlite3.Connection) -> None:
    """Perpetual funding payments, exactly once by the venue's payment id, like fills."""
    db.execute(
        """
        CREATE TABLE funding (
            payment_id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            ts INTEGER NOT NULL,
            rate TEXT NOT NULL,
            mark_price TEXT NOT NULL,
            size TEXT NOT NULL,
            contract_size TEXT NOT NULL,
            amount TEXT NOT NULL,
            currency TEXT NOT NULL
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_funding_ts ON funding (ts)")


@migration
def m008_position_risk(db: sqlite3.Connection) -> None:
    """The venue's risk figures of a derivative position ('' = none reported)."""
    for column in ("liquidation_price", "leverage", "initial_margin"):
        db.execute(f"ALTER TABLE positions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")


@migration
def m009_inventory(db: sqlite3.Connection) -> None:
    """The bot's spot inventory beside the account's holdings: adjustments that are not
    fills (adopted holdings, shrinks to the account's balance), and what the account held
    of each position's base at the last save ('' = not a spot product or not known)."""
    db.execute(
        """
        CREATE TABLE inventory_adjustments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            symbol TEXT NOT NULL,
            kind TEXT NOT NULL,
            size TEXT NOT NULL,
            price TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )"""
        + _strict(db)
    )
    db.execute("CREATE INDEX idx_inventory_symbol ON inventory_adjustments (symbol, ts)")
    db.execute(
        """
        CREATE TRIGGER inventory_adjustments_immutable BEFORE UPDATE ON inventory_adjustments
        BEGIN SELECT RAISE(ABORT, 'inventory adjustments are immutable'); END"""
    )
    db.execute("ALTER TABLE positions ADD COLUMN account_size TEXT NOT NULL DEFAULT ''")


@migration
def m010_products(db: sqlite3.Connection) -> None:
    """The products the runs traded, as the venue listed them at each run's start, so that
    readers of the store (status, the TUI) report figures on the products' increments.
    Derivative terms (margin rates, expiry) are the venue's and not kept here."""
    db.execute(
        """
        CREATE TABLE products (
            symbol TEXT PRIMARY KEY,
            base TEXT NOT NULL,
            quote TEXT NOT NULL,
            product_type TEXT NOT NULL,
            base_increment TEXT NOT NULL,
            price_increment TEXT NOT NULL,
            quote_increment TEXT NOT NULL,
            base_min_size TEXT NOT NULL,
            base_max_size TEXT NOT NULL,
            quote_min_size TEXT NOT NULL,
            contract_size TEXT NOT NULL,
            updated_ts INTEGER NOT NULL
        )"""
        + _strict(db)
    )


@migration
def m011_kernel_state(db: sqlite3.Connection) -> None:
    """What the kernel must find again after a restart beside orders and fills: a working
    limit entry's progress (reprices used, when its order was placed) and a trailing stop's
    best price, as JSON text by key (``entry:BTC-USD``, ``best:BTC-USD``)."""
    db.execute(
        """
        CREATE TABLE kernel_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            run_id TEXT NOT NULL,
            updated_ts INTEGER NOT NULL
        )"""
        + _strict(db)
    )


@migration
def m012_no_order_id_index(db: sqlite3.Connection) -> None:
    """Nothing looks an order up by its venue id in the store (the kernel maps ids in
    memory), and the index cost a page in the WAL for every intent and every order update:
    ~1 page in 6 of an intent's commit, on the tick-to-order path."""
    db.execute("DROP INDEX IF EXISTS idx_orders_order_id")
