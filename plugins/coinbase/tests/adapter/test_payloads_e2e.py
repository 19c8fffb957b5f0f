"""Malformed payloads end to end: the bot kernel with coinbase.spot + coinbase.market trades
against the simulator while its fault injector spoils REST bodies and WebSocket frames (wrong
types, missing fields, unknown enum values, truncated JSON, huge numbers). The run never
crashes, each spoiled payload the adapter met is one WARNING line with no traceback, counted
by the adapter and recorded as a ``venue.malformed`` event (what the ops metrics count),
entries pause while the adapter resyncs and resume after, and the exchange's ledger matches
the store: no order twice, every fill exactly once.
"""

from __future__ import annotations

import logging

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.store import Store

# name: fault spec (the seed and kinds vary the spoiled places across scenarios)
SCENARIOS = {
    "rest-bodies": "seed=5,malformed=0.25,paths=/orders",
    "ws-frames": "seed=6,ws_malformed=0.08",
    "truncated-and-huge": "seed=7,malformed=0.15,ws_malformed=0.05,malformed_kinds=truncated|huge",
    "types-missing-enums": (
        "seed=8,malformed=0.15,ws_malformed=0.05,malformed_kinds=type|missing|enum"
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_kernel_survives_malformed_payloads(name, sims, cbt, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    sim = sims(seed=21)
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    runtime = await assemble(cbt.bot_config(sim), cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    pauses = cbt.PauseRecorder(kernel)
    try:
        await start(runtime)
        cbt.set_faults(sim, SCENARIOS[name])
        await cbt.trade_for(runtime, 4.0)
        injected = {k: n for k, n in sim.state.faults.counts.items() if k.startswith("malformed")}
        cbt.set_faults(sim, None)
        await cbt.settle(kernel, 8.0)
        broker, feed = kernel.broker, runtime.feed
        await kernel.reconcile_now()
    finally:
        summary = await finish(runtime, "test")
    met = sum(
        m.count
        for m in (broker.malformed, broker.rest.malformed, feed.malformed, feed.rest.malformed)
    )
    print(name, injected, summary["orders"], summary["fills"], met, pauses.calls[:4])
    assert injected, "the injector spoiled nothing"
    assert met >= 1, "the adapter met none of the spoiled payloads"
    assert summary["orders"] >= 2, "the signal should have traded"

    lines = [r for r in caplog.records if r.name == "gpt_trader_coinbase.malformed"]
    assert len(lines) == met, "one line per malformed payload"
    assert all(r.exc_info is None for r in caplog.records), "a traceback was logged"
    assert kernel.errors == [], kernel.errors

    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        recorded = store.events(types=["venue.malformed"], limit=100_000)
    finally:
        store.close()
    assert len(recorded) == met, "every one of them is an event the ops metrics count"
    components = {"coinbase.spot", "coinbase.rest", "coinbase.market"}
    assert {e.payload["component"] for e in recorded} <= components

    cbt.check_invariants(client, state_dir, kernel=kernel)
    assert all(n == 1 for n in broker.stats.create_calls.values()), "an order was sent twice"
    assert pauses.pauses == pauses.resumes, "entries were left paused"
    assert kernel.entries_paused == ""
