"""``gpt-trader orders list`` shows a bracket's two legs: a ``trigger_bracket_gtc`` placed
with the official SDK on the Coinbase simulator is listed with its take-profit limit and
its stop trigger, in ``--json`` and in the table (the CLI as a subprocess)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest


def test_orders_list_shows_a_brackets_legs(
    sims: Any, cbt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sims(balances={"USD": Decimal("100000"), "BTC": Decimal("1")})
    client = cbt.sdk(sim, monkeypatch)
    bid = Decimal(
        client.get_best_bid_ask(product_ids=["BTC-USD"])["pricebooks"][0]["bids"][0]["price"]
    )
    target, stop = (
        (bid * Decimal("1.04")).quantize(Decimal("0.01")),
        (bid * Decimal("0.98")).quantize(Decimal("0.01")),
    )
    cid = uuid.uuid4().hex
    reply = client.trigger_bracket_order_gtc_sell(
        client_order_id=cid,
        product_id="BTC-USD",
        base_size="0.01",
        limit_price=str(target),
        stop_trigger_price=str(stop),
    ).to_dict()
    assert reply["success"], reply
    args = ("orders", "list", "--profile", "coinbase-sim", "--state-dir", str(tmp_path))
    env = {"GPT_TRADER_COINBASE_SIM": cbt.sim_json(sim), "COLUMNS": "250"}

    proc = cbt.gpt_trader(*args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    row = {o["client_order_id"]: o for o in json.loads(proc.stdout)}[cid]
    assert row["type"] == "BRACKET"
    assert row["legs"] == [
        {"leg": "take_profit", "limit_price": str(target)},
        {"leg": "stop", "stop_trigger_price": str(stop)},
    ]

    table = cbt.gpt_trader(*args, env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if cid in line)
    take_profit, stop_leg = lines[at + 1], lines[at + 2]
    assert "take_profit" in take_profit
    assert str(target) in take_profit
    assert "stop" in stop_leg
    assert str(stop) in stop_leg
