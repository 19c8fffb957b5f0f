"""The bot's own book, as a user meets it on the command line: an account that already
holds BTC, holdings adopted with a cost (and refused without one), and what `run` and
`status` print about them."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from cli_helpers import gpt_trader, run_json

PROFILE = """
[profile]
description = "dev with 1 BTC already in the account"
mode = "sim"
universe = ["BTC-USD", "ETH-USD"]
seed = 7

[broker]
use = "sim"
starting_cash = "100000"
starting_balances = {{ BTC = "1" }}

[feed]
use = "synthetic"
pace_s = 0
warmup_bars = 60

[[signals]]
use = "sma_cross"
fast = 5
slow = 20

[voter]
use = "majority"

[sizer]
use = "fixed"
sizes = {{ "BTC-USD" = "0.001", "ETH-USD" = "0.01" }}

[run]
record_market = false
{run}
"""


def _profile(tmp_path: Path, run: str = "", name: str = "holder") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(PROFILE.format(run=run))
    return path


def _exchange_btc(state: Path) -> Decimal:
    balances = json.loads((state / "sim_exchange.json").read_text())["ledger"]["total"]
    return Decimal(balances["BTC"])


def test_the_account_btc_is_shown_apart_and_never_sold(tmp_path: Path) -> None:
    state = tmp_path / "state"
    profile = str(_profile(tmp_path))
    summary = run_json(
        "run", "--profile", profile, "--max-events", "1500", "--state-dir", str(state)
    )
    assert summary["orders"] > 4, "the strategy did not trade"
    held = {h["symbol"]: h for h in summary["holdings"]}["BTC-USD"]
    bot = Decimal(held["bot"])
    assert Decimal(held["account"]) == Decimal(1) + bot
    assert _exchange_btc(state) == Decimal(1) + bot >= Decimal(1)
    # Human output: the run panel and status say it in words.
    again = gpt_trader(
        "run", "--profile", profile, "--max-events", "200", "--state-dir", str(state)
    )
    assert again.returncode == 0, again.stderr
    assert re.search(r"account holds 1\.\d{8}, bot inventory 0\.\d{8}", again.stdout)
    status = gpt_trader("status", "--state-dir", str(state))
    assert re.search(r"account holds 1\.\d{8}, bot inventory 0\.\d{8}", status.stdout)
    assert _exchange_btc(state) >= Decimal(1)


def test_adopting_holdings_needs_a_cost_and_is_recorded_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    profile = str(_profile(tmp_path))
    no_cost = gpt_trader(
        "run", "--profile", profile, "--adopt", "BTC-USD:0.5", "--state-dir", str(state)
    )
    assert no_cost.returncode == 2
    assert no_cost.stderr.strip().count("\n") == 0, no_cost.stderr
    assert "a cost basis is required" in no_cost.stderr
    in_file = gpt_trader(
        "config",
        "show",
        "--profile",
        str(_profile(tmp_path, 'adopt_holdings = { "BTC-USD" = { size = "0.5" } }', "nocost")),
    )
    assert in_file.returncode == 2
    assert "a cost basis is required" in in_file.stderr
    assert "Traceback" not in in_file.stderr + no_cost.stderr

    # The same profile and flag twice: adopted by the first run only.
    for _ in range(2):
        summary = run_json(
            "run",
            "--profile",
            profile,
            "--adopt",
            "BTC-USD:0.5@61000",
            "--max-events",
            "200",
            "--state-dir",
            str(state),
        )
        assert summary["errors"] == 0
    # Adopted once: the account never falls below the half the bot was not given.
    assert _exchange_btc(state) >= Decimal("0.5")
    held = {h["symbol"]: h for h in summary["holdings"]}["BTC-USD"]
    assert Decimal(held["account"]) >= Decimal("0.5")
    import sqlite3

    with sqlite3.connect(state / "gpt_trader.db") as db:
        rows = db.execute("SELECT symbol, kind, size, price FROM inventory_adjustments").fetchall()
    assert rows == [("BTC-USD", "adopted", "0.5", "61000")]
