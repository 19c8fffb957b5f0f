"""kill -9 with a position open under ``[exits]``: its bracket keeps working at the venue, and
the restarted bot adopts it instead of placing a second one (several seeds, on spot, CFM
futures and INTX perpetuals).

The bot is the real CLI against the Coinbase simulator (``coinbase.spot``, ``coinbase.cfm``,
``coinbase.intx``); a signal goes long on the first ticker and never changes its mind. The
bracket is read back with the official SDK's ``list_orders``: a ``trigger_bracket_gtc`` with
both prices, sized to the position (contracts on derivatives) and reduce-only there.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.testing import install_plugin

PLUGIN = """
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.params import NoParams
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
universe = ["{symbol}"]

[broker]
use = "{broker}"
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
sizes = {{ "{symbol}" = "{size}" }}

[exits]
stop_loss_pct = 5
take_profit_pct = 5

[run]
on_stop = "cancel"
guard_interval_s = 0.2
record_market = false
{run}
[logging]
level = "WARNING"
"""


@dataclass(frozen=True)
class Venue:
    """One profile's market: its broker, symbol and position size (contracts on derivatives),
    the simulator's options and the bot's environment."""

    broker: str
    symbol: str
    size: str
    sim: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # what the venue shows on the bracket: reduce_only inside its configuration (INTX; CFM
    # refuses the flag, the adapter checks it against the position instead), and the
    # leverage and margin type of the profile
    reduce_only: bool = False
    margin: dict[str, str] = field(default_factory=dict)
    quote: str = ""

    @property
    def run(self) -> str:
        """The profile's ``[run]`` lines for this venue (quote currency, leverage, margin)."""
        lines = {**({"quote_currency": self.quote} if self.quote else {}), **self.margin}
        return "".join(f'{key} = "{value}"\n' for key, value in lines.items())


VENUES = {
    "coinbase-sim": Venue("coinbase.spot", "BTC-USD", "0.001"),
    # 2 contracts of 0.01 BTC, at the leverage and margin type of config/profiles/cfm-sim.toml
    "cfm-sim": Venue(
        "coinbase.cfm",
        "BIP-20DEC30-CDE",
        "2",
        {"products": ["BIP-20DEC30-CDE"], "futures_cash": Decimal("20000")},
        margin={"leverage": "3", "margin_type": "CROSS"},
    ),
    "intx-sim": Venue(
        "coinbase.intx",
        "BTC-PERP-INTX",
        "0.01",
        {"products": ["BTC-PERP-INTX"], "perps_cash": Decimal("20000")},
        {"COINBASE_ENABLE_DERIVATIVES": "1"},
        reduce_only=True,
        margin={"leverage": "5", "margin_type": "CROSS"},
        quote="USDC",
    ),
}


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


def _venue_brackets(client: Any, symbol: str) -> list[dict[str, Any]]:
    orders = client.list_orders(product_ids=[symbol], order_status=["OPEN"]).to_dict()
    return [o for o in orders["orders"] if "trigger_bracket_gtc" in o["order_configuration"]]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", list(VENUES))
def test_kill9_with_a_position_keeps_one_working_bracket(
    name: str, seed: int, sims: Any, cbt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venue = VENUES[name]
    size = Decimal(venue.size)
    rng = random.Random(seed)
    sim = sims(seed=seed, **venue.sim)
    profile = tmp_path / f"{name}-exits.toml"
    profile.write_text(
        PROFILE.format(symbol=venue.symbol, broker=venue.broker, size=venue.size, run=venue.run)
    )
    path = install_plugin(tmp_path / "plugin", "holdtest", PLUGIN)
    env = cbt.cli_env(
        {"GPT_TRADER_COINBASE_SIM": cbt.sim_json(sim), "PYTHONPATH": path, **venue.env}
    )
    state = tmp_path / "bot"
    db = state / "gpt_trader.db"

    bot = cbt.run_bot(profile, state, env, "--for", "60s")
    placed = cbt.kill_9_when(
        bot, lambda: any(s == "OPEN" for _, s in _brackets(db)), rng, within_s=30, jitter_s=0.5
    )
    assert placed, "no bracket was working before the kill"
    [(cid, _)] = _brackets(db)

    client = cbt.sdk(sim, monkeypatch)
    [working] = _venue_brackets(client, venue.symbol)
    assert working["client_order_id"] == cid
    assert working["side"] == "SELL"
    config = working["order_configuration"]["trigger_bracket_gtc"]
    stop, limit = Decimal(config["stop_trigger_price"]), Decimal(config["limit_price"])
    assert stop < limit
    assert Decimal(config["base_size"]) == size  # the whole position, in contracts on futures
    assert config.get("reduce_only", False) is venue.reduce_only
    assert {k: working[k] for k in venue.margin} == venue.margin
    again = cbt.run_bot(profile, state, env, "--for", "3s", "--json")
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err.decode()[-3000:]
    summary = json.loads(out)
    [position] = summary["positions"]
    assert Decimal(position["size"]) == size
    # one bracket, the first run's, still working at the venue and in the store
    assert [o["client_order_id"] for o in _venue_brackets(client, venue.symbol)] == [cid]
    assert _brackets(db) == [(cid, "OPEN")]
    entries = [o for o in cbt.exchange_orders(client) if o["side"] == "BUY"]
    assert len(entries) == 1  # already long after the restart: nothing bought twice
