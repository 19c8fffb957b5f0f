"""A USDC universe end to end: the coinbase-sim profile with ``universe = ["BTC-USDC"]``.

The kernel with coinbase.spot + coinbase.market, each starting the simulator in-process as
the profile does (``sim = true``), trades BTC-USDC, the USDC alias of the BTC-USD book:
orders fill (none comes back "ProductID is invalid"), every fill reaches the store once,
the position is the exchange's, and the money moves in the USDC wallet, on the cent.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

from coinbase.rest import RESTClient
from gpt_trader.app import assemble, finish, start
from gpt_trader.config import BotConfig
from gpt_trader.store import Store
from gpt_trader_coinbase_sim.server import DEFAULT_CASH, SimInfo

PROFILE = Path(__file__).parents[4] / "config" / "profiles" / "coinbase-sim.toml"
CENT = Decimal("0.01")


def usdc_profile() -> BotConfig:
    """The shipped coinbase-sim profile on BTC-USDC, with a signal that trades often."""
    data = tomllib.loads(PROFILE.read_text())
    data["profile"] |= {"name": "coinbase-sim-usdc", "universe": ["BTC-USDC"]}
    data["broker"] |= {"reconcile_interval_s": 1.0, "sim_tick_s": 0.1}
    data["feed"] |= {"sim_tick_s": 0.1}
    data["signals"] = [{"use": "test.flip", "every": 3}]
    data["voter"] = {"use": "test.first"}
    data["sizer"] = {"use": "fixed", "sizes": {"BTC-USDC": "0.001"}}
    data["sinks"] = []
    data["run"] |= {"quote_currency": "USDC", "guard_interval_s": 0.2, "record_market": False}
    return BotConfig(**data)


async def test_the_bot_trades_a_usdc_universe_on_the_coinbase_sim_profile(
    cbt, tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv("GPT_TRADER_COINBASE_SIM", raising=False)
    state_dir = tmp_path / "bot"
    runtime = await assemble(usdc_profile(), cbt.bot_plugins(), state_dir)
    kernel = runtime.kernel
    try:
        await start(runtime)
        await cbt.trade_for(runtime, 4.0)
        await cbt.settle(kernel, 8.0)
        await kernel.reconcile_now()
        # The in-process simulator lives as long as the run: read its ledger now.
        info = SimInfo(**json.loads((state_dir / "coinbase-sim" / "sim.json").read_text()))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", info.cert_file)
        client = RESTClient(key_file=info.key_file, base_url=info.rest_base_url)
        orders = cbt.exchange_orders(client)
        fills = cbt.exchange_fills(client)
        balances = cbt.exchange_balances(client)
        internal_errors = cbt.admin(info, "GET", "/status")["internal_errors"]
    finally:
        summary = await finish(runtime, "test")

    assert internal_errors == 0
    assert "ProductID is invalid" not in caplog.text
    assert summary["orders"] >= 3, "the signal should have traded"
    assert len(fills) >= 2
    assert {o["product_id"] for o in orders} == {"BTC-USDC"}
    assert [o for o in orders if o["status"] == "FAILED"] == []
    assert {f["product_id"] for f in fills} == {"BTC-USDC"}

    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        stored = [f.trade_id for f in store.fills()]
        rejected = [o.reject_reason for o in store.orders() if o.reject_reason]
        (position,) = [p for p in store.positions() if p.symbol == "BTC-USDC"]
    finally:
        store.close()
    assert sorted(stored) == sorted(f["trade_id"] for f in fills)  # each fill once
    assert rejected == []
    held = balances.get("BTC", Decimal(0))
    assert position.size == held == kernel.ledger.positions["BTC-USDC"].size

    # Settled in the USDC wallet, on the cent; the USD wallet never moved.
    assert balances["USD"] == DEFAULT_CASH
    flow = DEFAULT_CASH
    for o in orders:
        value, fees = Decimal(o["filled_value"]), Decimal(o["total_fees"])
        flow += value - fees if o["side"] == "SELL" else -(value + fees)
    assert balances["USDC"] == flow < DEFAULT_CASH
    assert balances["USDC"] % CENT == 0
