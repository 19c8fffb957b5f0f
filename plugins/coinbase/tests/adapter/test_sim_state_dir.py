"""The in-process simulator of the cfm-sim / intx-sim profiles keeps its account in the
state dir: after a run left a position, ``positions`` and ``account`` on the same state dir
(each a CLI subprocess starting the simulator again) show that position and the balance
the run left, and a restarted bot finds its position at the venue.

The runs use the shipped profiles with one change: a signal that goes long at the first
ticker and stays long (a plugin the subprocess discovers), so every run leaves a position.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal as D

import pytest
from gpt_trader.config import resolve_profile

HOLD = """
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.params import NoParams
from gpt_trader.domain import Action, SignalValue, Ticker
from gpt_trader.hookspecs import hookimpl


class Long:
    name = "hold.long"

    def __init__(self, symbol):
        self.symbol = symbol

    def update(self, event):
        if isinstance(event, Ticker) and event.symbol == self.symbol:
            return SignalValue(self.name, self.symbol, event.ts, Action.LONG)
        return None


@hookimpl
def register_signals():
    yield ComponentSpec(
        "hold.long", Kind.SIGNAL, lambda p, ctx: Long(ctx.symbol), NoParams, per_symbol=True
    )
"""

SMA = 'use = "sma_cross"\nfast = 2\nslow = 4\n'


@pytest.mark.parametrize(
    ("profile", "symbol", "size", "currency"),
    [
        ("cfm-sim", "BIP-20DEC30-CDE", "2", "USD"),
        ("intx-sim", "BTC-PERP-INTX", "0.01", "USDC"),
    ],
)
def test_positions_and_account_see_what_the_run_left(
    profile, symbol, size, currency, cbt, tmp_path
):
    shipped = resolve_profile(profile).read_text()
    assert SMA in shipped
    holding = tmp_path / f"{profile}-hold.toml"
    holding.write_text(shipped.replace(SMA, 'use = "hold.long"\n'))
    env = {
        "GPT_TRADER_COINBASE_SIM": None,  # the in-process simulator of the state dir
        "COINBASE_ENABLE_DERIVATIVES": "1",
        "PYTHONPATH": cbt.install_plugin(tmp_path / "plugin", "holdtest", HOLD),
    }
    state = str(tmp_path / "state")

    run = cbt.gpt_trader(
        "run", "--profile", str(holding), "--state-dir", state, "--for", "6s", "--json", env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert [(p["symbol"], D(p["size"])) for p in summary["positions"]] == [(symbol, D(size))]

    listed = cbt.gpt_trader(
        "positions", "--profile", profile, "--state-dir", state, "--json", env=env
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    (row,) = json.loads(listed.stdout)
    assert (row["symbol"], D(row["size"])) == (symbol, D(size))
    assert D(row["avg_entry_price"]) == D(summary["positions"][0]["avg_entry_price"])

    account = cbt.gpt_trader(
        "account", "--profile", profile, "--state-dir", state, "--json", env=env
    )
    assert account.returncode == 0, account.stderr[-3000:]
    balances = {b["currency"]: b for b in json.loads(account.stdout)}
    assert summary["quote_currency"] == currency
    assert balances[currency]["total"] == summary["cash"]  # the pool the run left, to the cent

    again = cbt.gpt_trader(
        "run", "--profile", str(holding), "--state-dir", state, "--for", "2s", "--json", env=env
    )
    assert again.returncode == 0, again.stderr[-3000:]
    restarted = json.loads(again.stdout)
    assert [(p["symbol"], D(p["size"])) for p in restarted["positions"]] == [(symbol, D(size))]
    assert restarted["orders"] == 0  # already positioned at the venue: nothing new sent
    assert restarted["errors"] == 0


def test_while_a_run_holds_the_simulator_positions_asks_that_one(cbt, tmp_path):
    shipped = resolve_profile("cfm-sim").read_text()
    holding = tmp_path / "cfm-hold.toml"
    holding.write_text(shipped.replace(SMA, 'use = "hold.long"\n'))
    env = {
        "GPT_TRADER_COINBASE_SIM": None,
        "PYTHONPATH": cbt.install_plugin(tmp_path / "plugin", "holdtest", HOLD),
    }
    state = tmp_path / "state"
    args = ("run", "--profile", str(holding), "--state-dir", str(state), "--for", "20s", "--json")
    bot = subprocess.Popen(
        [str(cbt.BIN), *args],
        env=cbt.cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not _filled(state / "gpt_trader.db"):
            assert bot.poll() is None, bot.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the run never filled its order"
            time.sleep(0.1)
        serving = (state / "coinbase-sim" / "sim.json").read_text()
        listed = cbt.gpt_trader(
            "positions", "--profile", "cfm-sim", "--state-dir", str(state), "--json", env=env
        )
        assert listed.returncode == 0, listed.stderr[-3000:]
        # the run's simulator answered: no second one was started on the same account
        assert (state / "coinbase-sim" / "sim.json").read_text() == serving
        assert [(r["symbol"], r["size"]) for r in json.loads(listed.stdout)] == [
            ("BIP-20DEC30-CDE", "2")
        ]
        bot.send_signal(signal.SIGINT)  # a user's Ctrl-C: no need to wait out --for
        out, err = bot.communicate(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert bot.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["stop_reason"] == "signal"
    assert summary["positions"][0]["size"] == "2"


def _filled(db) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return bool(conn.execute("SELECT count(*) FROM fills").fetchone()[0])
    except sqlite3.Error:
        return False


def test_a_damaged_simulator_state_is_one_line(cbt, tmp_path):
    sim_dir = tmp_path / "coinbase-sim"
    sim_dir.mkdir()
    (sim_dir / "venue.json").write_text("{not json")
    env = {"GPT_TRADER_COINBASE_SIM": None}
    listed = cbt.gpt_trader(
        "positions", "--profile", "cfm-sim", "--state-dir", str(tmp_path), "--json", env=env
    )
    assert listed.returncode != 0
    assert "venue.json" in listed.stderr
    assert "delete it to start afresh" in listed.stderr
    assert "Traceback" not in listed.stderr
