"""Orders per second the in-process matching engine sustains.

    uv run python bench/matching.py [--orders N]

Through ``SimExchange.submit`` (validation, holds, matching, settlement, listeners): resting
limit orders on both sides, then crossing orders that take them, and market orders against
the implied touch. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from gpt_trader.domain import OrderRequest, OrderType, Side, TimeInForce, Trade
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products

T0 = 1_735_689_600_000_000_000


def _exchange() -> SimExchange:
    ex = SimExchange(default_products(["BTC-USD"]), {"USD": Decimal(10**12), "BTC": Decimal(10**6)})
    ex.on_trade(Trade("BTC-USD", T0, "t0", Decimal("100000.00"), Decimal("1"), "BUY"))
    return ex


def _limit(cid: str, side: Side, price: str) -> OrderRequest:
    return OrderRequest(
        cid,
        "BTC-USD",
        side,
        Decimal("0.01"),
        OrderType.LIMIT,
        limit_price=Decimal(price),
        time_in_force=TimeInForce.GTC,
    )


def run(n: int) -> dict[str, float]:
    ex = _exchange()
    started = time.perf_counter()
    for i in range(n):
        ex.submit(_limit(f"r{i}", Side.BUY, f"{99_000 + (i % 500)}.00"), T0 + i)
    resting = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(n):
        ex.submit(_limit(f"x{i}", Side.SELL, "98000.00"), T0 + n + i)
    crossing = time.perf_counter() - started
    ex2 = _exchange()
    started = time.perf_counter()
    for i in range(n):
        side = Side.BUY if i % 2 else Side.SELL
        ex2.submit(OrderRequest(f"m{i}", "BTC-USD", side, Decimal("0.01")), T0 + i)
    market = time.perf_counter() - started
    return {"resting": n / resting, "crossing": n / crossing, "market": n / market}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    rates = run(args.orders)
    for name, rate in rates.items():
        print(f"matching engine  {name:8s} {rate:>10,.0f} orders/s  ({args.orders:,} orders)")


if __name__ == "__main__":
    main()
