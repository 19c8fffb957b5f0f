"""Market data that cannot be reached is loud: every failed connect of ``coinbase.market`` is
one WARNING line (where, why, when it retries), entries are paused with that reason (an
``entries_paused`` event in the store) until the first frame arrives, and then resumed.

"Unreachable" is real: the endpoints of a simulator that has stopped (its port closed on
127.0.0.1), later started again on the same port.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gpt_trader.app import assemble, finish, start
from gpt_trader.config import BotConfig
from gpt_trader.store import Store
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import FAST


def stopped_simulator(where: Path) -> SimulatorThread:
    """A simulator that ran and stopped: its sim.json names a closed port."""
    sim = SimulatorThread(where, products=["BTC-USD"], **FAST)
    sim.start()
    sim.stop()
    return sim


def paper_bot(sim_json: str) -> BotConfig:
    return BotConfig(
        profile={"name": "unreachable", "mode": "paper", "universe": ["BTC-USD"]},
        broker={"use": "sim", "starting_cash": "10000"},
        feed={"use": "coinbase.market", "sim_json": sim_json, "stale_after_s": 5.0},
        signals=[{"use": "test.flip", "every": 3}],
        voter={"use": "test.first"},
        sizer={"use": "fixed", "sizes": {"BTC-USD": "0.001"}},
        run={"record_market": False},
    )


async def test_unreachable_market_data_warns_and_pauses_entries_until_it_flows(
    cbt, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="gpt_trader_coinbase")
    dead = stopped_simulator(tmp_path / "sim")
    url = dead.info.ws_url
    runtime = await assemble(paper_bot(cbt.sim_json(dead)), cbt.bot_plugins(), tmp_path / "bot")
    kernel = runtime.kernel
    revived = None
    try:
        await start(runtime)
        async with cbt.feeding(runtime):
            await cbt.wait_for("a second failed connect", lambda: len(_refusals(caplog, url)) >= 2)
            reason = f"market data: cannot connect to {url}: Connection refused"
            assert kernel.entries_paused == f"coinbase: {reason}"
            assert kernel.events_processed == 0
            first = _refusals(caplog, url)[0]
            assert first.getMessage().startswith(f"{reason}; retrying in ")
            assert first.exc_info is None  # one line, no traceback

            # The same endpoints come back: data flows and the pause is lifted.
            revived = SimulatorThread(
                tmp_path / "sim", products=["BTC-USD"], port=dead.info.port, **FAST
            )
            revived.start()
            await cbt.wait_for("market data", lambda: kernel.events_processed > 0, 20.0)
            await cbt.wait_for("entries resumed", lambda: kernel.entries_paused == "")
    finally:
        await finish(runtime, "test")
        if revived is not None:
            revived.stop()

    store = Store(tmp_path / "bot" / "gpt_trader.db", create=False)
    try:
        paused = [e.payload for e in store.events(types=["entries_paused"])]
    finally:
        store.close()
    assert (paused[0]["paused"], paused[0]["reason"]) == (True, f"coinbase: {reason}")
    assert any(not p["paused"] for p in paused[1:])


def _refusals(caplog, url: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and f"cannot connect to {url}" in r.getMessage()
    ]


def test_the_paper_profile_says_on_stderr_that_it_cannot_connect(cbt, tmp_path):
    dead = stopped_simulator(tmp_path / "sim")
    run = cbt.gpt_trader(
        *("run", "--profile", "paper", "--state-dir", str(tmp_path / "bot"), "--for", "2s"),
        "--json",
        env={"GPT_TRADER_COINBASE_SIM": cbt.sim_json(dead)},
    )
    # Unreachable for the whole run: it says so and exits 3 (see `gpt-trader run --help`).
    assert run.returncode == 3, run.stderr[-3000:]
    said = " ".join(run.stderr.split())  # the log handler may wrap long lines
    assert "error: the venue was unreachable for" in said
    assert f"market data: cannot connect to {dead.info.ws_url}: Connection refused" in said
    assert "retrying in" in said
    assert "Traceback" not in run.stderr
