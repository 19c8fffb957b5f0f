"""kill -9 with orders in flight, then a restart on the same state dir (several seeds).

The bot is the real CLI (``gpt-trader run --profile <coinbase-sim profile>``) in a
subprocess, pointed at a simulator this test runs (``GPT_TRADER_COINBASE_SIM``). Order
submits are slowed and sometimes ambiguous, so the kill lands while an intent is recorded
but unanswered. The restart must reconcile: no order sent twice, every exchange fill in the
store exactly once, positions equal to the exchange's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROFILE = """
[profile]
description = "kill -9 test: coinbase.spot + coinbase.market against the simulator"
mode = "paper"
universe = ["BTC-USD", "ETH-USD"]

[broker]
use = "coinbase.spot"
sim = true
reconcile_interval_s = 1.0
user_silence_s = 2.0
submit_timeout_s = 0.8
request_timeout_s = 3.0

[feed]
use = "coinbase.market"
sim = true
channels = ["ticker", "level2", "market_trades"]
bar_seconds = 1
stale_after_s = 2.0

[[signals]]
use = "killtest.flip"
every = 3

[voter]
use = "killtest.first"

[sizer]
use = "sizer.fixed"
sizes = {{ "BTC-USD" = "0.001", "ETH-USD" = "0.01" }}

[run]
on_stop = "cancel"
guard_interval_s = 0.2
record_market = false

[logging]
level = "{level}"
"""

BIN = Path(sys.executable).parent / "gpt-trader"

# A plugin the subprocess discovers through a fake dist-info on PYTHONPATH: a signal that
# flips LONG/FLAT every few tickers, so orders start within a second of the start.
PLUGIN = """
from gpt_trader.components import ComponentSpec, Kind, NoParams, Params
from gpt_trader.domain import Action, Decision, SignalValue, Ticker
from gpt_trader.hookspecs import hookimpl


class FlipParams(Params):
    every: int = 3


class Flip:
    def __init__(self, symbol, every):
        self.name, self.symbol, self.every, self.n, self.long = "flip", symbol, every, 0, False

    def update(self, event):
        if not isinstance(event, Ticker) or event.symbol != self.symbol:
            return None
        self.n += 1
        if self.n % self.every:
            return None
        self.long = not self.long
        return SignalValue("flip", self.symbol, event.ts, Action.LONG if self.long else Action.FLAT)


class First:
    def combine(self, symbol, ts, votes):
        return Decision(symbol, ts, votes[0].action, 1.0, tuple(votes)) if votes else None


@hookimpl
def register_signals():
    yield ComponentSpec(
        "killtest.flip", Kind.SIGNAL, lambda p, ctx: Flip(ctx.symbol, p.every), FlipParams, per_symbol=True
    )


@hookimpl
def register_voters():
    yield ComponentSpec("killtest.first", Kind.VOTER, lambda p, ctx: First(), NoParams)
"""


def _statuses(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM orders")]
    except sqlite3.Error:
        return []


def _run(profile: Path, state: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN), "run", "--profile", str(profile), "--state-dir", str(state), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_then_restart_keeps_the_invariants(seed, sims, cbt, tmp_path, monkeypatch):
    rng = random.Random(seed)
    sim = sims(seed=seed)
    cbt.set_faults(
        sim, f"seed={seed},latency=150ms..500ms,ambiguous=0.3,ambiguous_delay=1s,paths=/orders"
    )
    profile = tmp_path / "cb-kill.toml"
    profile.write_text(PROFILE.format(level="WARNING"))
    state = tmp_path / "bot"
    db = state / "gpt_trader.db"
    path = cbt.install_plugin(tmp_path / "plugin", "killtest", PLUGIN)
    env = cbt.cli_env({"GPT_TRADER_COINBASE_SIM": cbt.sim_json(sim), "PYTHONPATH": path})

    bot = _run(profile, state, env, "--for", "60s")
    try:
        # Wait for an order in flight (intent recorded, no answer yet), then kill at random.
        deadline = time.monotonic() + 25
        in_flight = False
        while time.monotonic() < deadline and bot.poll() is None:
            statuses = _statuses(db)
            if len(statuses) >= 2 and any(s in ("PENDING", "UNKNOWN") for s in statuses):
                in_flight = True
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.2))
        assert bot.poll() is None, bot.stderr.read().decode()[-2000:] if bot.stderr else ""
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(10)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(10)
    assert in_flight, "no order was in flight at the kill"
    before = _statuses(db)

    # Restart on the same state dir; faults off, so what is checked is the recovery.
    cbt.set_faults(sim, None)
    again = _run(profile, state, env, "--for", "1s", "--json")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()[-3000:]
    client = cbt.sdk(sim, monkeypatch)
    result = cbt.check_invariants(client, state)
    assert result["orders"] >= 1
    summary = json.loads(out)
    print(
        f"seed {seed}: before restart {before}; exchange {result['orders']} orders, {result['fills']} fills; restart {summary['orders_by_status']}"
    )
