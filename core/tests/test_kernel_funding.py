"""A perpetual held across funding times through the kernel, the sim broker and a real
store: every payment recorded once, and P&L = realised + funding - fees to the cent."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from gpt_trader.domain import OrderRequest, Side, Trade
from gpt_trader.engine.clock import SimClock
from gpt_trader.sim import DerivativesConfig
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, derivative_product, manual_kernel

NS = 1_000_000_000
H = 3600 * NS
T0 = FROZEN_TS
PERP = "BTC-PERP"


async def test_funding_reaches_the_ledger_and_the_store_exactly_once(tmp_path: Path) -> None:
    products = {PERP: derivative_product(PERP, "perpetual")}
    exchange = SimExchange(
        products,
        {"USDC": D("0")},
        derivatives=DerivativesConfig(
            pools={"PERPETUALS": D("10000")}, maker_fee=D(0), taker_fee=D("0.0005")
        ),
    )
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("r1", "test", "sim", T0)
    clock = SimClock(T0)
    kernel = manual_kernel(
        exchange,
        clock,
        run_id="r1",
        journal=store,
        sinks=[StoreSink(store, "r1")],
        critical_sinks=frozenset({0}),
        quote_currency="USDC",
    )
    await kernel.start()

    async def mark(price: str, ts: int) -> None:
        clock.advance_to(ts)
        await kernel.on_market(Trade(PERP, ts, f"t{ts}", D(price), D(1), "SELL"))

    await mark("100000.0", T0 + 10 * H)
    await kernel.submit(OrderRequest("b", PERP, Side.BUY, D("0.1"), leverage=D(5)))
    await mark("101000.0", T0 + 10 * H + 45 * 60 * NS)
    exchange.advance(T0 + 11 * H)  # pays 0.1 * 101000 * 0.00001 = 0.101 -> 0.10
    await mark("99000.0", T0 + 11 * H + 30 * 60 * NS)
    exchange.advance(T0 + 12 * H)  # pays 0.099 -> 0.10
    exchange.derivatives.set_funding_rate(PERP, D("-0.0002"))
    await mark("99500.0", T0 + 12 * H + 30 * 60 * NS)
    exchange.advance(T0 + 13 * H)  # receives 0.1 * 99500 * 0.0002 = 1.99
    await mark("100500.0", T0 + 13 * H + 30 * 60 * NS)
    await kernel.submit(OrderRequest("s", PERP, Side.SELL, D("0.1"), reduce_only=True))

    pos = kernel.positions[PERP]
    assert pos.size == 0
    assert pos.realized_pnl == D("50")  # (100500 - 100000) * 0.1
    assert pos.funding == D("-0.10") + D("-0.10") + D("1.99")
    assert pos.fees == D("5.00") + D("5.03")  # 10050 * 0.0005 = 5.025, rounded up
    assert pos.net_pnl == D("41.76")
    # margined: no notional changed hands, the pool's cash moved by P&L, funding and fees
    assert kernel.cash == D("10041.76")
    assert kernel.summary()["pnl"]["funding"] == "1.79"

    kernel.parts.sinks[0].flush()  # type: ignore[attr-defined]
    recorded = store.funding_payments()
    assert [p.payment_id for p in recorded] == [
        p.payment_id for p in exchange.derivatives.funding_payments()
    ]
    assert sum(p.amount for p in recorded) == D("1.79")
    # a replayed payment (a reconnect, a backfill) changes nothing
    kernel.on_funding(recorded[0])
    assert kernel.positions[PERP].funding == D("1.79")
    assert kernel.summary()["pnl"]["net"] == "41.76"
    # a restart rebuilds the position's funding from the store
    restarted = manual_kernel(exchange, clock, run_id="r2", journal=store, quote_currency="USDC")
    await restarted.start()
    assert restarted.positions[PERP].funding == D("1.79")
    assert restarted.positions[PERP].realized_pnl == D("50")
