"""A spoiled derivatives read is refused and counted, never read as flat or as zero: on CFM
and on INTX, with the simulator spoiling every positions, balance-summary and balances reply
(a missing or retyped field), each read either fails with ``WireError`` or shows the venue's
true position and cash. A missing ``number_of_contracts`` once read as a flat position. The
simulator over TLS on loopback, the adapter as the bot builds it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from gpt_trader.app import finish, start
from gpt_trader.domain import OrderRequest, Side
from gpt_trader_coinbase.convert import WireError

CASES = {
    "intx": ("BTC-PERP-INTX", "coinbase.intx", "0.01", "/intx/"),
    "cfm": ("BIP-20DEC30-CDE", "coinbase.cfm", "1", "/cfm/"),
}


@pytest.mark.parametrize("venue", sorted(CASES))
async def test_spoiled_positions_and_balances_are_refused_never_flat(
    venue, sims, cbt, tmp_path, monkeypatch
):
    symbol, broker_name, size, paths = CASES[venue]
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=4, products=[symbol], futures_cash=D(20000), perps_cash=D(20000))
    runtime = await cbt.bot_of_the_test(sim, symbol, broker_name, size, tmp_path / "bot")
    kernel = runtime.kernel
    try:
        await start(runtime)
        broker = kernel.broker
        await broker.submit(OrderRequest("entry", symbol, Side.BUY, D(size)))
        await cbt.wait_for("the position", lambda: kernel.positions[symbol].size == D(size))
        held = {p.symbol: p.size for p in await broker.venue_positions()}
        cash = {b.currency: b.total for b in await broker.balances()}
        assert held == {symbol: D(size)}
        before = broker.malformed.count
        cbt.set_faults(sim, f"seed=7,malformed=1,paths={paths},malformed_kinds=missing|type")
        refused = 0
        for _ in range(40):
            try:
                got = {p.symbol: p.size for p in await broker.venue_positions()}
                assert got == held, "a spoiled read must never change the position"
            except WireError:
                refused += 1
            try:
                assert {b.currency: b.total for b in await broker.balances()} == cash
            except WireError:
                refused += 1
        cbt.set_faults(sim, None)
        assert {p.symbol: p.size for p in await broker.venue_positions()} == held
    finally:
        await finish(runtime, "test")
    assert refused > 0
    assert broker.malformed.count - before >= refused, "each refusal is a counted line"
