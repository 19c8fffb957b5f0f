"""A position's money is its contract size's: a CFM position on a nano-BTC contract (0.01
BTC) held through the ``coinbase.cfm`` path against the simulator shows the venue's
unrealised P&L, to the cent, in the bot and in ``positions --json`` (the CLI as a
subprocess, the cfm-sim profile)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import OrderRequest, Side
from gpt_trader.domain.money import amount

CFM_PERP = "BIP-20DEC30-CDE"
STILL = {"tick_s": 3600.0}  # one tick at start: the test moves the market itself


def trade_at(sim, symbol: str, price: D) -> None:
    """A public trade at ``price``: the venue marks there, and the feed hears it."""

    def go() -> None:
        state = sim.state
        market = state.markets[symbol]
        pr = market.print_trade(state.clock.now_ns(), price, D(1), "SELL")
        state.venue.on_print(symbol, pr.ts, pr.trade_id, pr.price, pr.size, pr.taker_side)
        state.hub.market_step(market, [pr], refresh_book=False)

    sim.call(go)


async def test_a_small_contracts_pnl_is_the_venues_in_the_bot_and_the_cli(
    sims, cbt, tmp_path, monkeypatch
):
    sim = sims(seed=5, products=[CFM_PERP], futures_cash=D("20000"), **STILL)
    client = cbt.sdk(sim, monkeypatch)
    config = cbt.bot_config(
        sim,
        universe=(CFM_PERP,),
        sizes={CFM_PERP: "3"},
        broker={"use": "coinbase.cfm", "risk_interval_s": 0.3},
    )
    config.signals.clear()  # this bot's order is the test's
    runtime = await assemble(config, cbt.bot_plugins(), tmp_path / "bot")
    kernel = runtime.kernel
    try:
        await start(runtime)
        async with cbt.feeding(runtime):
            await kernel.submit(OrderRequest("open-1", CFM_PERP, Side.BUY, D(3), leverage=D(3)))
            await cbt.wait_for("the position", lambda: kernel.positions[CFM_PERP].size == D(3))
            entry = kernel.positions[CFM_PERP].avg_entry_price
            mark = entry + D(55)  # 55 USD a BTC on 0.03 BTC: 1.65 USD
            trade_at(sim, CFM_PERP, mark)
            await cbt.wait_for(
                "the new mark", lambda: kernel.positions[CFM_PERP].mark_price == mark
            )
            venue = client.get_futures_position(CFM_PERP).position
            assert venue.unrealized_pnl == "1.65"
            assert amount(kernel.positions[CFM_PERP].unrealized_pnl, "USD") == venue.unrealized_pnl
    finally:
        await finish(runtime, "test")

    cli = await asyncio.to_thread(
        cbt.gpt_trader,
        *("positions", "--profile", "cfm-sim", "--state-dir", str(tmp_path / "cli"), "--json"),
        env={"GPT_TRADER_COINBASE_SIM": cbt.sim_json(sim)},
    )
    assert cli.returncode == 0, cli.stderr
    (row,) = json.loads(cli.stdout)
    summary = client.get_futures_balance_summary().balance_summary
    assert (row["symbol"], row["size"]) == (CFM_PERP, "3")
    assert row["unrealized_pnl"] == venue.unrealized_pnl == summary.unrealized_pnl["value"]
    assert D(row["mark_price"]) == mark
