"""The intent file: order intents committed before they are sent, in a SQLite file of
their own beside the store (``gpt_trader.db-intents`` next to ``gpt_trader.db``).

Why a file of its own: SQLite lets one connection write a file at a time. In the store's
file the intent commit, which sits between a decision and the order reaching the venue,
would wait for the store writer's batch (about a millisecond) and for checkpoints. Here
only the trading thread writes, so the commit is one short append to this file's WAL.

What the file holds is the exactly-once anchor: a row per ``client_order_id`` ever
recorded (so an id is never accepted twice), with the order's PENDING row as the store's
``orders`` table will hold it. The store copies intents into ``orders`` (see ``Store``):
the store writer does it from the run's ``order.intent`` events, and every store reading
or updating orders first copies in what the writer has not yet (after a crash, before the
next start). When a run starts, every intent is in ``orders``: the file marks how far,
and keeps only the ids of those.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from gpt_trader.store.db import Synchronous, open_db

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS intents (
        seq INTEGER PRIMARY KEY,
        client_order_id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        row TEXT NOT NULL  -- '' once the store's orders hold it
    )""",
    "CREATE TABLE IF NOT EXISTS copied (through INTEGER NOT NULL)",
)


def intents_path(db: Path) -> Path:
    """The intent file of the store at ``db``."""
    return db.with_name(db.name + "-intents")


class IntentFile:
    """The intents of one store. ``checkpoint_pages``: WAL pages past which a commit
    folds the WAL back into the file itself (None: SQLite's default); a run sets it to a
    backstop and leaves checkpoints to its store writer, off the tick-to-order path."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Synchronous = "NORMAL",
        checkpoint_pages: int | None = None,
    ) -> None:
        self.path = path
        self.db = open_db(path, synchronous=synchronous)
        try:
            if checkpoint_pages is not None:
                self.db.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)};")
            for statement in _SCHEMA:
                self.db.execute(statement)
        except sqlite3.Error:
            self.db.close()
            raise

    def record(self, client_order_id: str, run_id: str, row: dict[str, Any]) -> None:
        """Commit one intent; ``sqlite3.IntegrityError`` when the id is in the file."""
        self.db.execute(
            "INSERT INTO intents (client_order_id, run_id, row) VALUES (?, ?, ?)",
            (client_order_id, run_id, json.dumps(row, separators=(",", ":"))),
        )

    def since(self, seq: int) -> list[tuple[int, dict[str, Any]]]:
        """The intents recorded after ``seq`` and not marked copied, oldest first, with
        their sequence numbers."""
        rows = self.db.execute(
            "SELECT seq, row FROM intents WHERE seq > ? AND row != '' ORDER BY seq", (seq,)
        ).fetchall()
        return [(s, json.loads(r)) for s, r in rows]

    def copied_through(self) -> int:
        """The last intent marked copied (0: none)."""
        row = self.db.execute("SELECT max(through) FROM copied").fetchone()
        return int(row[0] or 0)

    def mark_copied(self, seq: int) -> None:
        """Record that the store's orders hold every intent up to ``seq``: their rows are
        dropped (the ids stay, unique) and stores opened later start after them."""
        before = self.copied_through()
        if seq <= before:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("UPDATE intents SET row = '' WHERE seq > ? AND seq <= ?", (before, seq))
            self.db.execute("DELETE FROM copied")
            self.db.execute("INSERT INTO copied (through) VALUES (?)", (seq,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE);")

    def close(self) -> None:
        self.db.close()
