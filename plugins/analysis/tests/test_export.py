"""Export over a real store written by a real dev run: every table in every format reads
back equal to the store, money exact; bad arguments fail in one line with nothing written."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_helpers import gpt_trader


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("bot")
    proc = gpt_trader("run", "--profile", "dev", "--state-dir", str(state), "--for", "6s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return state


def store_rows(state: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(state / "gpt_trader.db") as conn:
        return conn.execute(sql).fetchall()


def test_parquet_fills_read_back_equal_to_the_store(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "fills.parquet"
    proc = gpt_trader("export", "--state-dir", str(store), "--format", "parquet", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    back = pq.read_table(out).to_pylist()
    rows = store_rows(store, "SELECT trade_id, price, size, fee, ts FROM fills ORDER BY ts")
    assert len(back) == len(rows) > 0
    for got, (trade_id, price, size, fee, ts) in zip(back, rows, strict=True):
        assert got["trade_id"] == trade_id
        assert isinstance(got["price"], Decimal)
        assert (got["price"], got["size"], got["fee"]) == tuple(map(Decimal, (price, size, fee)))
        assert got["ts"] == ts


@pytest.mark.parametrize("table", ["fills", "orders", "events", "positions", "equity"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_table_in_text_formats(store: Path, table: str, fmt: str) -> None:
    proc = gpt_trader("export", "--state-dir", str(store), "--format", fmt, "--table", table)
    assert proc.returncode == 0, proc.stderr
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    else:
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
    if table == "equity":
        fills = store_rows(store, "SELECT count(*) FROM fills")[0][0]
        assert len(rows) == fills
        net = sum((Decimal(r["net"]) for r in rows), Decimal(0))
        assert Decimal(rows[-1]["cumulative_net"]) == net
        for row in rows:  # money on the cent, as the bot prints it
            for key in ("realized_pnl", "fee", "net", "cumulative_net"):
                assert len(str(row[key]).partition(".")[2]) == 2, row
    else:
        assert len(rows) == store_rows(store, f"SELECT count(*) FROM {table}")[0][0]
    if table == "fills":
        assert all(Decimal(r["price"]) > 0 for r in rows)


def test_run_and_since_filter(store: Path) -> None:
    run_id = store_rows(store, "SELECT run_id FROM runs")[0][0]
    whole = gpt_trader("export", "--state-dir", str(store), "--run", str(run_id))
    none = gpt_trader("export", "--state-dir", str(store), "--run", "no-such-run")
    future = gpt_trader("export", "--state-dir", str(store), "--since", "2262-01-01")
    assert len(whole.stdout.splitlines()) > 1
    assert none.stdout.splitlines() == future.stdout.splitlines() == [whole.stdout.splitlines()[0]]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "xml"], "--format"),
        (["--table", "secrets"], "--table"),
        (["--since", "yesterday"], "--since"),
        (["--since", "2999-01-01"], "time range"),
        (["--format", "parquet"], "--out"),
        (["--out", "/nonexistent/dir/x.csv"], "does not exist"),
    ],
)
def test_bad_arguments_one_line_nothing_written(
    store: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    proc = gpt_trader("export", "--state-dir", str(store), "--table", "fills", *args)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_store_is_one_line(tmp_path: Path) -> None:
    proc = gpt_trader("export", "--state-dir", str(tmp_path))
    assert proc.returncode != 0
    assert "no store" in proc.stderr
    assert not (tmp_path / "gpt_trader.db").exists()
