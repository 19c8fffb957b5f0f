"""A ten-product portfolio backtest's throughput: ``backtest --profile dev --data DIR``.

    uv run python bench/portfolio.py [--quick] [--bars N] [--repeat N] [--events] [--json]

The ten products of the dev profile are made from one BTC file, as the tests make them
(``research_support.write_universe``: each product's bars rotated and scaled to its price,
on its increments, every product on the same timestamps): the shared 130,708-bar file when
``../shared/data`` is present, else (or with ``--quick``) the shipped 3,000-bar sample.
``--bars N`` keeps each product's first N bars.

The run is the dev profile's (SMA 5/20, fixed $100 sizer, notional caps, open-order cap,
daily loss and drawdown breakers) on the vectorised portfolio replay: only the bars where
a signal emits or an order is working, and the timer ticks the runtime guards cannot rule
out, go through the kernel (``gpt_trader_research.portfolio_replay``; the tests hold it
equal to the every-bar event path, which ``--events`` measures instead). Printed: bars in
all, the directory's load time, the run's time with assembly and the report maths, bars/s
summed over the products for the whole call and for the kernel alone (start + replay +
finish), the bars the kernel saw, and the process's CPU time for the call (the machine is
shared: wall time counts the other processes' share of the cores, CPU time does not).
Min / median / max of ``--repeat`` runs. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
sys.path.insert(0, str(REPO / "plugins" / "research" / "tests"))
FIGURE = "ten-product portfolio backtest (after the portfolio issue)"


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def measure(src: Path, bars: int | None, repeat: int, vectorise: bool) -> dict[str, Any]:
    from gpt_trader.config import load_config
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import BacktestSpec
    from gpt_trader_research.portfolio import PortfolioSpec, portfolio_config, run_portfolio
    from gpt_trader_research.universe import load_universe
    from research_support import write_universe

    with tempfile.TemporaryDirectory(prefix="bench-portfolio-") as tmp:
        data = write_universe(src, Path(tmp), bars=bars)
        symbols = list(load_config("dev").profile.universe)
        t = time.perf_counter()
        universe = load_universe([data], symbols)
        load_s = time.perf_counter() - t
    spec = PortfolioSpec(BacktestSpec(data, "", profile="dev"), (data,))
    pm = make_plugin_manager()
    config = portfolio_config(spec, pm)
    totals, kernels, cpus = [], [], []
    result = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = run_portfolio(spec, pm, bars=universe, config=config, vectorise=vectorise)
        totals.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        kernels.append(result.elapsed_s)
    assert result is not None
    n = result.bars
    return {
        "source": src.name,
        "path": result.path,
        "products": len(universe),
        "bars_per_product": len(next(iter(universe.values()))),
        "bars": n,
        "kernel_bars": result.kernel_bars,
        "load_s": load_s,
        "total_s": spread(totals),
        "kernel_s": spread(kernels),
        "cpu_s": spread(cpus),
        "bars_per_s": [n / s for s in totals],
        "kernel_bars_per_s": [n / s for s in kernels],
        "cpu_bars_per_s": [n / s for s in cpus],
        "trades": result.stats["trades"],
        "orders": result.summary["orders"],
        "guard_trips": len(result.trips_by_guards),
        "final_equity": result.units.cash(result.final_equity),
    }


def rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    aim = ">= 1,000,000 bars/s summed"
    return [
        {
            "figure": FIGURE,
            "unit": "bars/s summed (whole call)",
            "ours": out["bars_per_s"],
            "peer": None,
            "peer_values": None,
            "aim": aim,
        },
        {
            "figure": f"{FIGURE}: per CPU second",
            "unit": "bars/s summed (process CPU time)",
            "ours": out["cpu_bars_per_s"],
            "peer": None,
            "peer_values": None,
            "aim": aim,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--bars", type=int, default=None, help="bars per product (default all)")
    parser.add_argument("--repeat", type=int, default=5, help="runs (min/median/max)")
    parser.add_argument("--events", action="store_true", help="every bar through the kernel")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    src = SAMPLE if args.quick or not FULL.is_file() else FULL
    if src is SAMPLE and not args.quick:
        print(f"note: {FULL} not found; using the shipped sample", file=sys.stderr)
    out = measure(src, args.bars, args.repeat, not args.events)
    if args.json:
        print(json.dumps({"rows": rows(out), **out}, indent=2))
        return
    print(
        f"portfolio backtest, dev profile, {out['products']} products x "
        f"{out['bars_per_product']:,} bars of {out['source']} = {out['bars']:,} bars "
        f"({out['path']} path: {out['kernel_bars']:,} through the kernel)"
    )
    print(f"  load (10 CSVs)  {out['load_s']:8.2f} s")
    n = out["bars"]
    for label, key in (("run", "total_s"), ("kernel only", "kernel_s"), ("run, CPU", "cpu_s")):
        s = out[key]
        print(
            f"  {label:14s}  {s['median']:8.2f} s  {n / s['median']:>10,.0f} bars/s summed "
            f"(min {n / s['max']:,.0f}, max {n / s['min']:,.0f})"
        )
    print(
        f"  {out['trades']:,} trades, {out['orders']:,} orders, {out['guard_trips']} guard "
        f"trips, final equity {out['final_equity']}"
    )


if __name__ == "__main__":
    main()
