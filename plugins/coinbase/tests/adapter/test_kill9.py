"""kill -9 with orders in flight, then a restart on the same state dir (several seeds).

The bot is the real CLI (``gpt-trader run --profile <coinbase-sim profile>``) in a
subprocess, pointed at a simulator this test runs (``GPT_TRADER_COINBASE_SIM``). Order
submits are slowed and sometimes ambiguous, so the kill lands while an intent is recorded
but unanswered. The restart must reconcile: no order sent twice, every exchange fill in the
store exactly once, positions equal to the exchange's.
"""

from __future__ import annotations

import json
import random

import pytest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_then_restart_keeps_the_invariants(seed, sims, cbt, tmp_path, monkeypatch):
    rng = random.Random(seed)
    sim = sims(seed=seed)
    cbt.set_faults(
        sim, f"seed={seed},latency=150ms..500ms,ambiguous=0.3,ambiguous_delay=1s,paths=/orders"
    )
    profile, state, env = cbt.bot_setup(tmp_path, sim)
    db = state / "gpt_trader.db"

    bot = cbt.run_bot(profile, state, env, "--for", "60s")

    def in_flight_now() -> bool:  # an intent recorded, no answer yet
        statuses = cbt.order_statuses(db)
        return len(statuses) >= 2 and any(s in ("PENDING", "UNKNOWN") for s in statuses)

    in_flight = cbt.kill_9_when(bot, in_flight_now, rng, within_s=25, jitter_s=0.2)
    assert in_flight, "no order was in flight at the kill"
    before = cbt.order_statuses(db)

    # Restart on the same state dir; faults off, so what is checked is the recovery.
    cbt.set_faults(sim, None)
    again = cbt.run_bot(profile, state, env, "--for", "1s", "--json")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()[-3000:]
    client = cbt.sdk(sim, monkeypatch)
    result = cbt.check_invariants(client, state)
    assert result["orders"] >= 1
    summary = json.loads(out)
    print(
        f"seed {seed}: before restart {before}; exchange {result['orders']} orders, {result['fills']} fills; restart {summary['orders_by_status']}"
    )
