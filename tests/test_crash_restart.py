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


def _kill_9_at_random(profile: str, state: Path, seed: int) -> None:
    """``gpt-trader run`` on ``profile``, killed with SIGKILL at a moment ``seed`` picks
    once it has placed an order."""
    rng = random.Random(seed)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "run", "--profile", profile, "--dev-fast",
         "--state-dir", str(state)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (state / "sim_exchange.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # trading has started once the exchange has an order
        time.sleep(rng.uniform(0.2, 1.5))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (state / "sim_exchange.json").exists(), "the bot placed no order before the kill"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_then_restart_keeps_the_three_invariants(tmp_path: Path, seed: int) -> None:
    state = tmp_path / "state"
    _kill_9_at_random("dev", state, seed)

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


EXIT_TAGS = {"exit:bracket", "exit:trailing", "exit:stop_loss", "exit:take_profit"}


@pytest.mark.parametrize(
    ("seed", "exits"),
    [
        (1, "stop_loss_pct = 2\ntake_profit_pct = 4"),
        (2, "stop_loss_pct = 2\ntake_profit_pct = 4"),
        (3, "stop_loss_pct = 2\ntake_profit_pct = 4"),
        (4, "stop_loss_pct = 2"),
    ],
)
def test_kill_9_with_positions_open_leaves_one_venue_stop_each(
    tmp_path: Path, seed: int, exits: str
) -> None:
    """With ``[exits]``: whenever the bot dies (between an entry's fill and its bracket
    too), after the restart each open position has exactly one working exit at the venue
    (its bracket, or its lone stop), the one the store knows; none was placed twice."""
    dev = (REPO / "config" / "profiles" / "dev.toml").read_text()
    profile = tmp_path / "exits.toml"
    profile.write_text(f"{dev}\n[exits]\n{exits}\n")
    state = tmp_path / "state"
    _kill_9_at_random(str(profile), state, seed)

    run_json("run", "--profile", str(profile), "--dev-fast", "--max-events", "1500",
             "--state-dir", str(state))  # fmt: skip

    exchange = _exchange(state)
    venue_ids = [o["client_order_id"] for o in exchange["orders"]]
    assert len(venue_ids) == len(set(venue_ids)), "an order reached the exchange twice"
    working = {"OPEN", "PARTIALLY_FILLED"}
    exits_at_venue: dict[str, list[dict]] = {}
    for o in exchange["orders"]:
        if o["status"] in working and o["tag"] in EXIT_TAGS:
            exits_at_venue.setdefault(o["symbol"], []).append(o)
    positions = _positions_from([(f["symbol"], f["side"], f["size"]) for f in exchange["fills"]])
    assert positions, "the run ended flat: nothing to protect"
    for symbol, size in positions.items():
        legs = exits_at_venue.get(symbol, [])
        assert len(legs) == 1, f"{symbol}: {len(legs)} working exits at the venue"
        assert Decimal(legs[0]["size"]) == abs(size)
    assert set(exits_at_venue) <= set(positions), "an exit works for a flat position"
    stored = {
        cid: status for cid, status in _rows(state, "select client_order_id, status from orders")
    }
    for legs in exits_at_venue.values():
        assert stored.get(legs[0]["client_order_id"]) in working
