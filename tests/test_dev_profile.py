"""The main job end to end: `run --profile dev` places and fills orders, keeps them in the
store, and a second run on the same state dir sends nothing twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import gpt_trader, run_json


def store_rows(state_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(state_dir / "gpt_trader.db") as db:
        return db.execute(sql).fetchall()


def test_dev_run_places_and_fills_orders_and_stores_them(tmp_path: Path) -> None:
    summary = run_json(
        "run",
        "--profile",
        "dev",
        "--dev-fast",
        "--max-events",
        "4000",
        "--state-dir",
        str(tmp_path),
    )
    assert summary["profile"] == "dev"
    assert summary["orders"] > 0
    assert summary["fills"] > 0
    assert summary["trading_state"] == "ACTIVE"
    for key in ("run_id", "pnl", "positions", "guard_trips"):
        assert key in summary
    (orders,) = store_rows(tmp_path, "select count(*) from orders")[0:1]
    (fills,) = store_rows(tmp_path, "select count(*) from fills")[0:1]
    assert orders[0] == summary["orders"]
    assert fills[0] == summary["fills"]
    assert (
        store_rows(tmp_path, "select count(*) from events where type = 'fill'")[0][0]
        == summary["fills"]
    )


def test_second_run_resumes_and_sends_nothing_twice(tmp_path: Path) -> None:
    first = run_json(
        "run",
        "--profile",
        "dev",
        "--dev-fast",
        "--max-events",
        "3000",
        "--state-dir",
        str(tmp_path),
    )
    second = run_json(
        "run",
        "--profile",
        "dev",
        "--dev-fast",
        "--max-events",
        "3000",
        "--state-dir",
        str(tmp_path),
    )
    assert second["resumed_from"] == first["run_id"]
    ids = [r[0] for r in store_rows(tmp_path, "select client_order_id from orders")]
    assert len(ids) == len(set(ids))
    exchange = json.loads((tmp_path / "sim_exchange.json").read_text())
    venue_ids = [o["client_order_id"] for o in exchange["orders"]]
    assert len(venue_ids) == len(set(venue_ids)), "the exchange received an order twice"
    assert set(venue_ids) <= set(ids)
    runs = store_rows(tmp_path, "select run_id from runs order by started_ts")
    assert [r[0] for r in runs] == [first["run_id"], second["run_id"]]
    # Counts are each run's own; the P&L is the book's, built by every run's fills.
    sql = "select count(*) from fills where run_id = '{}'"
    assert second["fills"] == store_rows(tmp_path, sql.format(second["run_id"]))[0][0]
    assert first["fills"] == store_rows(tmp_path, sql.format(first["run_id"]))[0][0]


def test_status_reads_the_store(tmp_path: Path) -> None:
    summary = run_json(
        "run",
        "--profile",
        "dev",
        "--dev-fast",
        "--max-events",
        "2000",
        "--state-dir",
        str(tmp_path),
    )
    status = run_json("status", "--state-dir", str(tmp_path))
    assert status["last_run"]["run_id"] == summary["run_id"]
    assert status["trading_state"] == "ACTIVE"
    assert status["counts"]["fills"] == summary["fills"]


BAD_PROFILES = {
    "neg": (
        '[profile]\nuniverse = ["BTC-USD"]\n[broker]\nuse = "sim"\n[feed]\nuse = "synthetic"\n'
        '[voter]\nuse = "majority"\n[sizer]\nuse = "fixed"\nsize = "-1"\n'
    ),
    "unknown": '[profile]\nuniverse = ["BTC-USD"]\n[[signals]]\nuse = "sma_crosss"\n',
    "csv": (
        '[profile]\nuniverse = ["BTC-USD"]\n[feed]\nuse = "csv"\npath = "{tmp}/missing.csv"\n'
        '[[signals]]\nuse = "sma_cross"\n[voter]\nuse = "majority"\n[sizer]\nuse = "fixed"\nsize = "0.001"\n'
    ),
    "sym": '[profile]\nuniverse = ["FOO-USD"]\n',
}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "--profile", "dve"), "unknown profile 'dve'"),
        (("run", "--profile", "{tmp}/neg.toml", "--state-dir", "{tmp}/a"), "size"),
        (
            ("run", "--profile", "{tmp}/unknown.toml", "--state-dir", "{tmp}/b"),
            "did you mean 'sma_cross'",
        ),
        (("run", "--profile", "{tmp}/sym.toml", "--state-dir", "{tmp}/c"), "FOO-USD"),
        (("run", "--profile", "dev", "--state-dir", "{tmp}/file/state"), "state dir"),
        (("run", "--profile", "dev", "--for", "soon"), "invalid duration"),
        (("status", "--state-dir", "{tmp}/nothing"), "no store"),
        (("run", "--profile", "prod", "--state-dir", "{tmp}/d"), "pass --live"),
        (("run", "--profile", "{tmp}/csv.toml", "--state-dir", "{tmp}/e"), "missing.csv"),
    ],
    ids=[
        "unknown-profile",
        "negative-size",
        "unknown-signal",
        "unknown-symbol",
        "state-dir-under-a-file",
        "bad-duration",
        "no-store",
        "live-without-flag",
        "missing-csv",
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "file").write_text("x")
    for name, text in BAD_PROFILES.items():
        (tmp_path / f"{name}.toml").write_text(text.replace("{tmp}", str(tmp_path)))
    proc = gpt_trader(*(arg.replace("{tmp}", str(tmp_path)) for arg in args))
    assert proc.returncode == 2, (args, proc.stderr)
    assert expected in proc.stderr, (args, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "a" / "gpt_trader.db").exists(), "a rejected profile must write nothing"
