"""The bot's book is its own, over the wire: an account that already holds 1 BTC runs the
real CLI against the Coinbase simulator through round trips, a kill -9 and a restart. The
bot never sells a coin it did not buy, and the P&L it reports is the P&L of its fills."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

BTC = Decimal(1)


def _avg_cost_realised(fills: list[dict[str, Any]]) -> Decimal:
    """Realised P&L (before fees) of the venue's fills, average cost, per product."""
    size: dict[str, Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    realised = Decimal(0)
    for f in sorted(fills, key=lambda f: (f["trade_time"], f["trade_id"])):
        product, qty, price = f["product_id"], Decimal(f["size"]), Decimal(f["price"])
        if f["side"] == "BUY":
            size[product] += qty
            cost[product] += qty * price
        else:
            avg = cost[product] / size[product]
            realised += (price - avg) * qty
            cost[product] -= avg * qty
            size[product] -= qty
    return realised


@pytest.mark.parametrize("seed", [4, 5])
def test_an_account_with_btc_keeps_it_through_round_trips_and_a_kill_9(
    seed: int, sims: Any, cbt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    sim = sims(seed=seed, balances={"USD": Decimal(100_000), "BTC": BTC})
    profile, state, env = cbt.bot_setup(tmp_path, sim)
    db = state / "gpt_trader.db"

    bot = cbt.run_bot(profile, state, env, "--for", "60s")
    # A few round trips done, then killed at a random moment.
    cbt.kill_9_when(
        bot, lambda: cbt.order_statuses(db).count("FILLED") >= 6, rng, within_s=30, jitter_s=0.5
    )
    assert cbt.order_statuses(db).count("FILLED") >= 6, "too few round trips before the kill"

    again = cbt.run_bot(profile, state, env, "--for", "6s", "--json")
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err.decode()[-3000:]
    summary = json.loads(out)

    client = cbt.sdk(sim, monkeypatch)
    fills = cbt.exchange_fills(client)
    assert fills, "no fill at the venue"
    # At no point did the bot sell more of a product than its own fills had bought.
    net: dict[str, Decimal] = defaultdict(Decimal)
    for f in sorted(fills, key=lambda f: (f["trade_time"], f["trade_id"])):
        net[f["product_id"]] += Decimal(f["size"]) * (1 if f["side"] == "BUY" else -1)
        assert net[f["product_id"]] >= 0, f"sold coins the bot never bought: {f}"
    balances = cbt.exchange_balances(client)
    assert balances["BTC"] >= BTC
    assert balances["BTC"] == BTC + net["BTC-USD"]
    # What the bot reports is what its fills made, to the cent.
    realised = _avg_cost_realised(fills).quantize(Decimal("0.01"))
    assert Decimal(summary["pnl"]["realized"]) == realised
    fees = sum((Decimal(f["commission"]) for f in fills), Decimal(0))
    assert Decimal(summary["pnl"]["fees"]) == fees.quantize(Decimal("0.01"))
    held = {h["symbol"]: h for h in summary["holdings"]}
    assert Decimal(held["BTC-USD"]["account"]) == balances["BTC"]
    assert Decimal(held["BTC-USD"]["bot"]) == net["BTC-USD"]
