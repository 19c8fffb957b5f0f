"""The bot as the web sees it: one state dir's store, read-only, polled at most every
``min_interval_s`` however many browsers ask (a page and an event stream each poll)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from gpt_trader.errors import UserError
from gpt_trader.monitor.daily import pnl_by_day
from gpt_trader.monitor.reader import DB_FILE, StoreReader
from gpt_trader.store.migrations import MIGRATIONS
from gpt_trader.store.rows import fill_from_row, product_from_row, run_from_row

from gpt_trader_web.views import DashboardView, dashboard_of


def check_store(state_dir: Path) -> Path:
    """The store file in ``state_dir``; a one-line error when there is none or a newer
    gpt-trader wrote it (its schema has migrations this one does not know)."""
    if not state_dir.is_dir():
        raise UserError(f"state dir {state_dir} does not exist or is not a directory")
    db = state_dir / DB_FILE
    if not db.is_file():
        raise UserError(f"no store in {state_dir} (expected {db}); run the bot there first")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise UserError(f"{db} is not a gpt-trader store ({exc})") from None
    unknown = names - {fn.__name__ for fn in MIGRATIONS}
    if unknown:
        raise UserError(
            f"{db} was written by a newer gpt-trader (schema {max(unknown)}); upgrade to read it"
        )
    return db


class BotSource:
    def __init__(self, state_dir: Path, min_interval_s: float = 0.5) -> None:
        self.state_dir = state_dir
        self.min_interval_s = min_interval_s
        self._reader = StoreReader(state_dir)
        self._last: DashboardView | None = None
        self._read_at = 0.0

    def close(self) -> None:
        self._reader.close()

    def snapshot(self) -> DashboardView:
        mono = time.monotonic()
        if self._last is not None and mono - self._read_at < self.min_interval_s:
            return self._last
        data = self._reader.read(time.time_ns())
        try:
            conn = self._reader.connect()
            products = {
                p.symbol: p for p in map(product_from_row, conn.execute("SELECT * FROM products"))
            }
            fills = [fill_from_row(r) for r in conn.execute("SELECT * FROM fills ORDER BY ts")]
            runs = [run_from_row(r) for r in conn.execute("SELECT * FROM runs ORDER BY started_ts")]
        except sqlite3.Error as exc:
            data.error = data.error or f"cannot read the store: {exc}"
            products, fills, runs = {}, [], []
        days = pnl_by_day(fills, products, self._reader.increments)
        self._last = dashboard_of(data, days, runs)
        self._read_at = mono
        return self._last
