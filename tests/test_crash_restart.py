"""kill -9 at a random moment, restart on the same state dir: nothing sent twice, every
exchange fill in the store exactly once, positions equal to the exchange's."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import REPO, run_json


def _exchange(state_dir: Path) -> dict:
    return json.loads((state_dir / "sim_exchange.json").read_text())


def _rows(state_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(state_dir / "gpt_trader.db") as db:
        return db.execute(sql).fetchall()


def _positions_from(fills: list[tuple[str, str, str]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for symbol, side, size in fills:
        signed = Decimal(size) if side == "BUY" else -Decimal(size)
        out[symbol] = out.get(symbol, Decimal(0)) + signed
    return {s: v for s, v in out.items() if v != 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_then_restart_keeps_the_three_invariants(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpt_trader",
            "run",
            "--profile",
            "dev",
            "--dev-fast",
            "--state-dir",
            str(state),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (state / "sim_exchange.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # trading has started once the exchange has an order
        time.sleep(rng.uniform(0.2, 1.5))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (state / "sim_exchange.json").exists(), "the bot placed no order before the kill"

    second = run_json(
        "run", "--profile", "dev", "--dev-fast", "--max-events", "1500", "--state-dir", str(state)
    )
    assert second["trading_state"] == "ACTIVE"

    exchange = _exchange(state)
    venue_ids = [o["client_order_id"] for o in exchange["orders"]]
    assert len(venue_ids) == len(set(venue_ids)), "an order reached the exchange twice"
    stored_ids = {r[0] for r in _rows(state, "select client_order_id from orders")}
    assert set(venue_ids) <= stored_ids, "the exchange has an order the store never recorded"

    venue_fills = sorted(f["trade_id"] for f in exchange["fills"])
    store_fills = sorted(r[0] for r in _rows(state, "select trade_id from fills"))
    assert store_fills == venue_fills, "a fill is missing from the store or recorded twice"

    venue_positions = _positions_from(
        [(f["symbol"], f["side"], f["size"]) for f in exchange["fills"]]
    )
    store_positions = {
        s: Decimal(v)
        for s, v in _rows(state, "select symbol, size from positions")
        if Decimal(v) != 0
    }
    assert store_positions == venue_positions
    runs = _rows(state, "select stop_reason from runs order by started_ts")
    assert runs[0][0] == "crashed"
