"""kill -9 with a position open under ``[exits]``: its bracket keeps working at the venue, and
the restarted bot adopts it instead of placing a second one (several seeds).

The bot is the real CLI against the Coinbase simulator (``coinbase.spot``); a signal goes
long on the first ticker and never changes its mind. The bracket is read back with the
official SDK's ``list_orders``: a ``trigger_bracket_gtc`` with both prices.
"""

from __future__ import annotations

import json
import random
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.testing import install_plugin

PLUGIN = """
from gpt_trader.components import ComponentSpec, Kind, NoParams
from gpt_trader.domain import Action, Decision, SignalValue, Ticker
from gpt_trader.hookspecs import hookimpl


class Long:
    name = "long"

    def __init__(self, symbol):
        self.symbol = symbol

    def update(self, event):
        if isinstance(event, Ticker) and event.symbol == self.symbol:
            return SignalValue("long", self.symbol, event.ts, Action.LONG)
        return None


class First:
    def combine(self, symbol, ts, votes):
        return Decision(symbol, ts, votes[0].action, 1.0, tuple(votes)) if votes else None


@hookimpl
def register_signals():
    yield ComponentSpec("holdtest.long", Kind.SIGNAL, lambda p, ctx: Long(ctx.symbol), NoParams, per_symbol=True)


@hookimpl
def register_voters():
    yield ComponentSpec("holdtest.first", Kind.VOTER, lambda p, ctx: First(), NoParams)
"""

PROFILE = """
[profile]
mode = "paper"
universe = ["BTC-USD"]

[broker]
use = "coinbase.spot"
sim = true
reconcile_interval_s = 1.0

[feed]
use = "coinbase.market"
sim = true
channels = ["ticker", "market_trades"]
bar_seconds = 1

[[signals]]
use = "holdtest.long"

[voter]
use = "holdtest.first"

[sizer]
use = "fixed"
sizes = { "BTC-USD" = "0.001" }

[exits]
stop_loss_pct = 5
take_profit_pct = 5

[run]
on_stop = "cancel"
guard_interval_s = 0.2
record_market = false

[logging]
level = "WARNING"
"""


def _brackets(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            rows = conn.execute(
                "SELECT client_order_id, status FROM orders WHERE order_type = 'BRACKET'"
            )
            return [(r[0], r[1]) for r in rows]
    except sqlite3.Error:
        return []


def _venue_brackets(client: Any) -> list[dict[str, Any]]:
    orders = client.list_orders(product_ids=["BTC-USD"], order_status=["OPEN"]).to_dict()
    return [o for o in orders["orders"] if "trigger_bracket_gtc" in o["order_configuration"]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_with_a_position_keeps_one_working_bracket(
    seed: int, sims: Any, cbt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    sim = sims(seed=seed)
    profile = tmp_path / "cb-exits.toml"
    profile.write_text(PROFILE)
    path = install_plugin(tmp_path / "plugin", "holdtest", PLUGIN)
    env = cbt.cli_env({"GPT_TRADER_COINBASE_SIM": cbt.sim_json(sim), "PYTHONPATH": path})
    state = tmp_path / "bot"
    db = state / "gpt_trader.db"

    bot = cbt.run_bot(profile, state, env, "--for", "60s")
    placed = cbt.kill_9_when(
        bot, lambda: any(s == "OPEN" for _, s in _brackets(db)), rng, within_s=30, jitter_s=0.5
    )
    assert placed, "no bracket was working before the kill"
    [(cid, _)] = _brackets(db)

    client = cbt.sdk(sim, monkeypatch)
    [venue] = _venue_brackets(client)
    assert venue["client_order_id"] == cid
    config = venue["order_configuration"]["trigger_bracket_gtc"]
    stop, limit = Decimal(config["stop_trigger_price"]), Decimal(config["limit_price"])
    assert stop < limit
    assert Decimal(config["base_size"]) == Decimal("0.001")

    again = cbt.run_bot(profile, state, env, "--for", "3s", "--json")
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err.decode()[-3000:]
    summary = json.loads(out)
    [position] = summary["positions"]
    assert Decimal(position["size"]) == Decimal("0.001")
    # one bracket, the first run's, still working at the venue and in the store
    assert [o["client_order_id"] for o in _venue_brackets(client)] == [cid]
    assert _brackets(db) == [(cid, "OPEN")]
    entries = [o for o in cbt.exchange_orders(client) if o["side"] == "BUY"]
    assert len(entries) == 1  # already long after the restart: nothing bought twice
