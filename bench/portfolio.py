"""A ten-product portfolio backtest's throughput: ``backtest --profile dev --data DIR``.

    uv run python bench/portfolio.py [--quick] [--bars N] [--repeat N] [--json]

The ten products of the dev profile are made from one BTC file, as the tests make them
(``research_support.write_universe``: each product's bars rotated and scaled to its price,
on its increments, every product on the same timestamps): the shared 130,708-bar file when
``../shared/data`` is present, else (or with ``--quick``) the shipped 3,000-bar sample.
``--bars N`` keeps each product's first N bars.

The run is the dev profile's (SMA 5/20, fixed $100 sizer, notional caps, open-order cap,
daily loss and drawdown breakers): every bar of every product goes through the one kernel
(the runtime guards need each bar). Printed: bars in all, the directory's load time, the
run's time with assembly and the report maths, and bars/s summed over the products, for
the whole call and for the kernel alone (start + replay + finish). Medians of ``--repeat``
runs; the machine is shared, so read them as orders of magnitude. Nothing here asserts a
speed.
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


def measure(src: Path, bars: int | None, repeat: int) -> dict[str, Any]:
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
    totals, kernels = [], []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_portfolio(spec, pm, bars=universe, config=config)
        totals.append(time.perf_counter() - t)
        kernels.append(result.elapsed_s)
    assert result is not None
    n = result.bars
    total, kernel = statistics.median(totals), statistics.median(kernels)
    return {
        "source": src.name,
        "products": len(universe),
        "bars_per_product": len(next(iter(universe.values()))),
        "bars": n,
        "load_s": load_s,
        "total_s": total,
        "kernel_s": kernel,
        "bars_per_s": n / total,
        "kernel_bars_per_s": n / kernel,
        "trades": result.stats["trades"],
        "orders": result.summary["orders"],
        "final_equity": result.units.cash(result.final_equity),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--bars", type=int, default=None, help="bars per product (default all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    src = SAMPLE if args.quick or not FULL.is_file() else FULL
    if src is SAMPLE and not args.quick:
        print(f"note: {FULL} not found; using the shipped sample", file=sys.stderr)
    out = measure(src, args.bars, args.repeat)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"portfolio backtest, dev profile, {out['products']} products x "
        f"{out['bars_per_product']:,} bars of {out['source']} = {out['bars']:,} bars"
    )
    print(f"  load (10 CSVs)   {out['load_s']:8.2f} s")
    print(f"  run              {out['total_s']:8.2f} s  {out['bars_per_s']:>10,.0f} bars/s summed")
    print(f"  kernel only      {out['kernel_s']:8.2f} s  {out['kernel_bars_per_s']:>10,.0f} bars/s")
    print(
        f"  {out['trades']:,} trades, {out['orders']:,} orders, final equity {out['final_equity']}"
    )


if __name__ == "__main__":
    main()
