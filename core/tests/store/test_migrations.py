from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gpt_trader.store import Store, open_db
from gpt_trader.store.migrations import MIGRATIONS, migrate

TABLES = {"runs", "events", "orders", "fills", "positions", "operator_actions", "_migrations"}


def test_migrations_apply_once(db_path: Path) -> None:
    Store(db_path).close()
    Store(db_path).close()
    conn = sqlite3.connect(db_path)
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    conn.close()
    assert names == [fn.__name__ for fn in MIGRATIONS]
    assert len(names) == len(set(names))


def test_migrate_reports_what_it_applied(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    try:
        assert migrate(db) == [fn.__name__ for fn in MIGRATIONS]
        assert migrate(db) == []
        rows = db.execute("SELECT applied_at FROM _migrations").fetchall()
        assert all(isinstance(ts, int) and ts > 1_600_000_000 * 10**9 for (ts,) in rows)
    finally:
        db.close()


def _tables(db: sqlite3.Connection) -> set[str]:
    return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(db: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in db.execute(f"PRAGMA table_info({table})")}


def _pks(db: sqlite3.Connection, table: str) -> list[str]:
    info = sorted((row[5], row[1]) for row in db.execute(f"PRAGMA table_info({table})"))
    return [name for pk, name in info if pk]


def _indexes(db: sqlite3.Connection, table: str) -> set[tuple[str, ...]]:
    names = [row[1] for row in db.execute(f"PRAGMA index_list({table})")]
    return {tuple(row[2] for row in db.execute(f"PRAGMA index_info({name})")) for name in names}


def test_schema_present(store: Store) -> None:
    assert _tables(store.db) >= TABLES
    cols = _columns(store.db, "orders")
    for money in ("size", "limit_price", "stop_price", "filled_size", "avg_fill_price", "fees"):
        assert cols[money] == "TEXT", money
    assert cols["created_ts"] == "INTEGER"
    fills = _columns(store.db, "fills")
    assert fills["price"] == fills["size"] == fills["fee"] == "TEXT"
    assert _pks(store.db, "fills") == ["trade_id"]
    assert _pks(store.db, "orders") == ["client_order_id"]
    assert _pks(store.db, "positions") == ["symbol"]
    event_indexes = _indexes(store.db, "events")
    assert ("run_id", "id") in event_indexes
    assert ("type",) in event_indexes
    assert "REAL" not in " ".join(
        sql for (sql,) in store.db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
    )


@pytest.mark.skipif(sqlite3.sqlite_version_info < (3, 37), reason="STRICT needs SQLite 3.37")
def test_an_order_is_indexed_by_what_the_store_looks_it_up_by(tmp_path: Path, store: Store) -> None:
    """Not by its venue id: that index cost a WAL page per intent and order update."""
    indexed = {r[1] for r in store.db.execute("PRAGMA index_list(orders)").fetchall()}
    assert "idx_orders_order_id" not in indexed
    assert {"idx_orders_status", "idx_orders_run"} <= indexed
    # A store created before the index was dropped loses it when it is next opened.
    db = open_db(tmp_path / "old.db")
    try:
        migrate(db)
        db.execute("CREATE INDEX idx_orders_order_id ON orders (order_id)")
        db.execute("DELETE FROM _migrations WHERE name = 'm012_no_order_id_index'")
        assert migrate(db) == ["m012_no_order_id_index"]
        assert "idx_orders_order_id" not in {
            r[1] for r in db.execute("PRAGMA index_list(orders)").fetchall()
        }
    finally:
        db.close()


def test_tables_are_strict(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO runs (run_id, profile, mode, started_ts) VALUES ('x', 'p', 'm', 'soon')"
        )


def test_events_are_append_only_and_fills_immutable(store: Store, build) -> None:
    store.append_events("run-1", [])
    store.db.execute(
        "INSERT INTO events (run_id, ts, type, payload) VALUES ('run-1', 1, 't', '{}')"
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE events SET type = 'x'")
    store.add_fill(build.fill())
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store.db.execute("UPDATE fills SET price = '1'")


def test_failed_migration_is_rolled_back_and_stays_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpt_trader.store import migrations

    def m999_broken(db) -> None:
        db.execute("CREATE TABLE half_done (x TEXT)")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m999_broken])
    db = open_db(tmp_path / "x.db")
    try:
        with pytest.raises(RuntimeError, match="boom"):
            migrate(db)
        assert "half_done" not in _tables(db)
        assert "m999_broken" not in migrations.applied(db)
        assert "m006_operator_actions" in migrations.applied(db)  # earlier ones committed
        assert not db.in_transaction
    finally:
        db.close()
