"""The order path's results are a recorded golden: fixed scenarios through the kernel and
the sim exchange (market orders filled at once and at the next open, limit entries that
reprice, a real SQLite store as journal and sink) must give the same orders, fills, fees,
equity and events as when the golden was recorded. A speed change to the hot path that
moves any of them fails here.

Re-record (only for an intended change of behaviour, said so in the commit):
``GPT_TRADER_RECORD_GOLDEN=1 uv run pytest core/tests/test_order_golden.py``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import Action, Decision, Fill, Order, SignalValue
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.execution import ExecutionPolicy
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.sim.synthetic import SyntheticFeed
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, EventRecorder, manual_kernel

GOLDEN = Path(__file__).parent / "data" / "order_golden.json"
BTC = "BTC-USD"


class Every:
    """LONG for ``period`` bars, then FLAT for ``period``: an order every ``period`` bars."""

    name = "golden.every"

    def __init__(self, period: int) -> None:
        self.period, self.bars = period, 0

    def update(self, event: Any) -> SignalValue | None:
        self.bars += 1
        if self.bars % self.period:
            return None
        action = Action.LONG if (self.bars // self.period) % 2 else Action.FLAT
        return SignalValue(self.name, event.symbol, event.ts, action)


class First:
    name = "golden.first"

    def combine(self, symbol: str, ts: int, votes: Any) -> Decision | None:
        return Decision(symbol, ts, votes[0].action, votes=tuple(votes)) if votes else None


class Fixed:
    def size(self, decision: Decision, state: Any) -> Decimal:
        return Decimal("0.37")


def _order(o: Order) -> dict[str, Any]:
    return {
        "cid": o.client_order_id,
        "order_id": o.order_id,
        "side": o.side.value,
        "type": o.order_type.value,
        "tif": o.time_in_force.value,
        "status": o.status.value,
        "size": str(o.size),
        "limit": None if o.limit_price is None else str(o.limit_price),
        "filled": str(o.filled_size),
        "avg": str(o.avg_fill_price),
        "fees": str(o.fees),
        "reduce_only": o.reduce_only,
        "created": o.created_ts,
        "updated": o.updated_ts,
        "reason": str(o.reject_reason),
        "tag": o.tag,
        "trades": list(o.trade_ids),
    }


def _fill(f: Fill) -> list[Any]:
    return [f.trade_id, f.client_order_id, f.order_id, f.side.value, str(f.price),
            str(f.size), str(f.fee), f.liquidity.value, f.ts]  # fmt: skip


async def _scenario(
    tmp: Path, market_fill: str, execution: ExecutionPolicy, *, store: bool
) -> dict[str, Any]:
    products = default_products([BTC])
    feed = SyntheticFeed(products, seed=11, start_ts=FROZEN_TS, pace_s=0, limit=1500)
    exchange = SimExchange(products, {"USD": Decimal(100_000)}, market_fill=market_fill)  # type: ignore[arg-type]
    clock = SimClock(FROZEN_TS)
    recorder = EventRecorder()
    sinks: list[Any] = [recorder]
    extra: dict[str, Any] = {}
    db = None
    if store:
        db = Store(tmp / "golden.db")
        db.start_run("golden", "golden", "sim", FROZEN_TS)
        sinks.insert(0, StoreSink(db, "golden", record_market=False))
        extra["journal"] = db
    kernel = manual_kernel(
        exchange, clock, run_id="golden", voter=First(), sizer=Fixed(), sinks=sinks,
        execution=execution, **extra,
    )  # fmt: skip
    kernel.parts.signals[BTC] = [Every(7)]
    await kernel.start()
    for event in feed.events([BTC]):
        clock.advance_to(event.close_ts)
        await kernel.on_market(event)
        await kernel.on_timer()
    summary = kernel.summary()
    out: dict[str, Any] = {
        "orders": [_order(o) for o in kernel.orders.values()],
        "fills": [_fill(f) for f in exchange.fills()],
        "equity": str(kernel.equity),
        "cash": str(kernel.cash),
        "realized": str(kernel.realized_pnl),
        "fees": str(kernel.fees),
        "summary_pnl": summary["pnl"],
        "balances": {b.currency: str(b.total) for b in exchange.balances()},
        "events": dict(sorted(Counter(e.type for e in recorder.events).items())),
    }
    if db is not None:
        for sink in sinks[:1]:
            sink.close()
        out["stored_orders"] = [_order(o) for o in db.orders()]
        out["stored_fills"] = [_fill(f) for f in db.fills()]
        db.close()
    return out


SCENARIOS = {
    "market_immediate": ("immediate", ExecutionPolicy(), False),
    "market_next_open": ("next_open", ExecutionPolicy(), False),
    "limit_reprice_store": (
        "immediate",
        ExecutionPolicy(entry="limit", offset_bps=Decimal(5), timeout_s=300.0),
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_the_order_path_gives_the_recorded_results(name: str, tmp_path: Path) -> None:
    market_fill, execution, store = SCENARIOS[name]
    got = json.loads(json.dumps(await _scenario(tmp_path, market_fill, execution, store=store)))
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("GPT_TRADER_RECORD_GOLDEN"):
        golden[name] = got
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    assert got["fills"], "the scenario must trade"
    assert got == golden[name]
