"""Opening the SQLite file: directories, pragmas, and one readable error when it cannot be.

Durability choice: WAL journal with ``synchronous=NORMAL``. A transaction is appended to the
``-wal`` file with ``write()`` before ``COMMIT`` returns, so once the store says an order
intent is recorded, killing the process (``kill -9``, OOM, a crash) cannot take it back: the
bytes are in the operating system's page cache and the next open replays the WAL. What
NORMAL gives up is durability of the last transactions against a power cut or kernel panic
(WAL is only fsynced at checkpoints); the database is never corrupted by one. A deployment
that must survive power loss opens the store with ``synchronous="FULL"`` (an fsync per
commit, ~ms each on ordinary disks).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from gpt_trader.errors import UserError

DB_FILENAME = "gpt_trader.db"
BUSY_TIMEOUT_MS = 5000

Synchronous = Literal["NORMAL", "FULL"]


def default_db_path(state_dir: Path) -> Path:
    """Where a run keeps its store inside its state directory."""
    return Path(state_dir) / DB_FILENAME


def existing_store(state_dir: Path, hint: str = "") -> Path:
    """The store file of the bot whose state dir is ``state_dir``; a one-line
    :class:`UserError` when there is none (``hint`` says what to do about it)."""
    db = Path(state_dir) / "gpt_trader.db"
    try:
        found = db.is_file()
    except OSError as exc:  # a name the file system refuses (too long)
        raise UserError(f"state dir {str(state_dir)[:80]}...: {exc.strerror}") from None
    if not found:
        raise UserError(f"no store in {state_dir} (expected {db}){hint}")
    return db


def open_db(
    path: str | Path, *, synchronous: Synchronous = "NORMAL", create: bool = True
) -> sqlite3.Connection:
    """Open (creating parent directories and the file if ``create``) a store database.

    Sets WAL journal mode, ``synchronous`` and a busy timeout, so a second process (the CLI's
    ``status``, an operator command) can read and write while a run is going. The
    connection is in autocommit mode: a statement outside an explicit ``BEGIN`` commits on
    its own, and the store's writes of more than one statement open their ``BEGIN IMMEDIATE``. Raises
    :class:`~gpt_trader.errors.UserError` with one line naming ``path`` when the directory
    cannot be created, the file cannot be opened, or it is not a SQLite database.
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    path = Path(path)
    if not create and not path.is_file():
        raise UserError(f"no store at {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the directory for the store {path}: {exc.strerror or exc}"
        ) from None
    conn: sqlite3.Connection | None = None
    try:
        # isolation_level=None: sqlite3 never opens a transaction behind the store's back.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};")
        # The store was written with it on (sqlite-utils' default): a REPLACE fires the
        # delete triggers of the rows it removes.
        conn.execute("PRAGMA recursive_triggers = on;")
        # Reading the header here is what fails for a file that is not a database; setting
        # the mode only when it differs takes no lock from a running bot.
        if conn.execute("PRAGMA journal_mode;").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = wal;")
        conn.execute(f"PRAGMA synchronous = {synchronous};")
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        reason = str(exc)
        if "not a database" in reason:
            raise UserError(f"{path} is not a SQLite database (is it another file?)") from None
        raise UserError(f"cannot open the store {path}: {reason}") from None
    return conn
