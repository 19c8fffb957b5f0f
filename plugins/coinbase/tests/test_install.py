"""What an install of the adapter gives, with the simulator (the ``[sim]`` extra) or without
it (nox session ``coinbase_alone``): the CLI lists the three Coinbase plugins, and a
``sim = true`` profile either gets its in-process simulator or says in one line how to."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

SIM_INSTALLED = importlib.util.find_spec("gpt_trader_coinbase_sim") is not None
BIN = Path(sys.executable).parent / "gpt-trader"
NEEDS_SIM = (
    "`sim = true` needs the Coinbase simulator: pip install 'gpt-trader-coinbase[sim]'"
    " (or run one elsewhere and give its sim.json with `sim_json`)"
)
SPOT_ON_SIM = """
[profile]
mode = "paper"
universe = ["BTC-USD"]

[broker]
use = "coinbase.spot"
sim = true
"""


def gpt_trader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (no simulator named by the env)."""
    env = {k: v for k, v in os.environ.items() if k != "GPT_TRADER_COINBASE_SIM"}
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_plugins_list_shows_the_adapter(tmp_path):
    proc = gpt_trader("plugins", "list", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    for name, provides in [
        ("coinbase_spot", "broker:coinbase.spot"),
        ("coinbase_cfm", "broker:coinbase.cfm"),
        ("coinbase_intx", "broker:coinbase.intx"),
    ]:
        assert plugins[name]["status"] == "loaded"
        assert plugins[name]["distribution"] == "gpt-trader-coinbase"
        assert provides in plugins[name]["provides"]
    assert "feed:coinbase.market" in plugins["coinbase_spot"]["provides"]
    assert ("coinbase_sim" in plugins) is SIM_INSTALLED


def test_a_sim_profile_starts_the_simulator_or_says_how_to_get_it(tmp_path):
    (tmp_path / "spot-sim.toml").write_text(SPOT_ON_SIM)
    proc = gpt_trader(
        "account", "--profile", "spot-sim.toml", "--state-dir", "state", "--json", cwd=tmp_path
    )
    if SIM_INSTALLED:
        assert proc.returncode == 0, proc.stderr
        totals = {b["currency"]: Decimal(b["total"]) for b in json.loads(proc.stdout)}
        assert totals["USD"] == Decimal("100000.00")
    else:
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr + proc.stdout
        assert proc.stderr.strip().splitlines() == [f"gpt-trader: error: {NEEDS_SIM}"]
