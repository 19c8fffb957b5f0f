"""The bot kernel with coinbase.spot + coinbase.market against the simulator, under faults.

Each scenario trades for a few seconds with a signal that flips often, then stops taking
new decisions, lets in-flight orders resolve, and checks the invariants against the
exchange's own ledger (read with the official SDK): no duplicate order, every exchange fill
in the store exactly once, positions equal to the exchange's; and that entries were paused
while the adapter resynced and resumed after.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from gpt_trader.app import assemble, finish, start

# name: (fault spec, expect a resync, admin WebSocket drops at these seconds: code or None)
SCENARIOS = {
    "rest-storms": ("429=0.2,5xx=0.2", False),
    "ambiguous-submits": ("ambiguous=0.5,ambiguous_delay=1s", False),
    "ws-drops-1001": ("ws_drop=0.01,ws_1001=0.01", True),
    "ws-gaps-dups-reorder": ("gap=0.03,dup=0.05,reorder=0.05", True),
    "stalled-feed": ("stall=1.2s@1s", True),
    "everything": (
        "429=0.05,5xx=0.05,ambiguous=0.2,ambiguous_delay=1s,ws_drop=0.005,ws_1001=0.005,"
        "gap=0.01,dup=0.02,reorder=0.02,latency=1ms..20ms",
        True,
    ),
}


# Every WebSocket client (market and user sockets) dropped mid-run: 1001, then torn down.
DROPS = {"ws-drops-1001": [(1.2, 1001), (2.4, None)], "everything": [(2.0, None)]}


async def drop_clients(cbt, sim, plan) -> None:
    started = time.monotonic()
    for at, code in plan:
        await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
        body = {} if code is None else {"code": code}
        await asyncio.to_thread(cbt.admin, sim.info, "POST", "/ws/drop", body)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_kernel_against_simulator_with_faults(name, sims, cbt, tmp_path, monkeypatch):
    spec, expect_resync = SCENARIOS[name]
    sim = sims(seed=11)
    client = cbt.sdk(sim, monkeypatch)
    state_dir = tmp_path / "bot"
    runtime = await assemble(cbt.bot_config(sim), cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    pauses = cbt.PauseRecorder(kernel)
    try:
        await start(runtime)
        cbt.set_faults(sim, f"seed=3,{spec}")
        dropper = asyncio.create_task(drop_clients(cbt, sim, DROPS.get(name, [])))
        await cbt.trade_for(runtime, 4.0, until=lambda k: k.fills_received >= 2, at_most=12.0)
        await dropper
        faults_seen = dict(sim.state.faults.counts)
        cbt.set_faults(sim, None)
        await cbt.settle(kernel, 8.0)
        broker = kernel.broker
        await kernel.reconcile_now()
    finally:
        summary = await finish(runtime, "test")
    print(name, summary["orders"], summary["fills"], broker.stats, faults_seen, pauses.calls)
    assert summary["orders"] >= 3, "the signal should have traded"
    assert summary["fills"] >= 2
    cbt.check_invariants(client, state_dir, kernel=kernel)
    # Nothing was ever sent twice.
    assert all(n == 1 for n in broker.stats.create_calls.values())
    if expect_resync:
        assert pauses.pauses >= 1, "entries were never paused during a resync"
    if name in DROPS:
        assert any("user channel" in r for r in broker.stats.resync_reasons), "no user resync"
    assert pauses.pauses == pauses.resumes, "entries were left paused"
    assert kernel.entries_paused == ""
