from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gpt_trader.errors import UserError
from gpt_trader.store import Store, default_db_path, open_db


def test_open_db_creates_parents_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gpt_trader.db"
    db = open_db(path)
    try:
        assert path.is_file()
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    finally:
        db.close()


def test_open_db_full_synchronous_on_request(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db", synchronous="FULL")
    try:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        db.close()


def test_default_db_path(tmp_path: Path) -> None:
    assert default_db_path(tmp_path) == tmp_path / "gpt_trader.db"


def test_uncreatable_directory_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a regular file, not a directory")
    path = blocker / "state" / "gpt_trader.db"
    with pytest.raises(UserError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_directory_in_place_of_the_file_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "gpt_trader.db"
    path.mkdir()
    with pytest.raises(UserError, match="cannot open the store") as info:
        open_db(path)
    assert str(path) in str(info.value)


def test_file_that_is_not_sqlite_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "gpt_trader.db"
    path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(UserError, match="is not a SQLite database") as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    assert path.read_bytes().startswith(b"this is a text file")  # left untouched


def test_create_false_requires_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(UserError, match="no store at"):
        Store(path, create=False)
    assert not path.exists()
    Store(path).close()
    Store(path, create=False).close()


def test_unrelated_sqlite_database_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (x)")  # someone else's schema
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="cannot prepare the store"):
        Store(path)
