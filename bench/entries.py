"""Limit and post-only entries through the kernel and the sim exchange: fill rate, reprices
and throughput, against market entries on the same bars.

    uv run python bench/entries.py [--quick] [--repeat N] [--json]

The SMA 10/30 backtest (long only, next-open fills, all-in sizing, 1,000,000 cash, the
sim broker's default fees: 60 bps taker, 40 bps maker) with ``--entry`` set to each case
below. Per case:

- ``entries``: decisions that sent an entry; ``filled``: those that became a position
  (round trips), and the fill rate ``filled / entries``;
- ``reprices``: replacement orders (cancel/replace, a MARKET rest, a post-only cross
  repriced one tick further) plus in-place edits of a working entry's price;
- ``maker``: the share of entry fills that made liquidity; fees, final equity;
- bars/s end to end (median of ``--repeat`` runs; the bars are parsed once, not timed).

Data: ``../shared/data``'s BTC file when present, else (and with ``--quick``) the shipped
sample. The machine is shared: compare figures from one run only. Nothing asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
CASH = 1_000_000
CASES = (
    "market",
    "limit:offset_bps=5,timeout=5m,reprice=cancel_replace",
    "limit:offset_bps=5,timeout=5m,reprice=edit",
    "limit:offset_bps=5,timeout=5m,reprice=market",
    "post_only:offset_bps=2,timeout=3m,reprice=edit",
    "post_only:offset_bps=2,timeout=3m,reprice=cancel_replace,max_reprices=5",
)


def _figures(result: Any) -> dict[str, Any]:
    """What the recorder saw: entries, fills, reprices (long only: BUYs enter)."""
    from gpt_trader.domain.money import amount

    rec = result.recorder
    buys = [i.request for i in rec.intents if i.request.side.value == "BUY"]
    ordered = {d.detail for _, d in rec.decisions if d.outcome == "ordered"}
    entries = sum(1 for r in buys if r.client_order_id in ordered)
    prices: dict[str, Decimal | None] = {}
    edits = 0
    for update in rec.updates:
        order = update.order
        if order.side.value != "BUY" or order.limit_price is None:
            continue
        seen = prices.get(order.client_order_id)
        if seen is not None and seen != order.limit_price:
            edits += 1
        prices[order.client_order_id] = order.limit_price
    entry_fills = [f.fill for f in rec.fills if f.fill.side.value == "BUY"]
    maker = sum(1 for f in entry_fills if f.liquidity.value == "MAKER")
    filled = len(result.trips)
    return {
        "entries": entries,
        "filled": filled,
        "fill_rate": filled / entries if entries else 0.0,
        "reprices": len(buys) - entries + edits,
        "edits": edits,
        "maker_share": maker / len(entry_fills) if entry_fills else 0.0,
        "fees": amount(result.fees, "USD"),
        "final_equity": amount(result.final_equity, "USD"),
        "path": result.path,
        "kernel_bars": result.kernel_bars,
    }


def run_case(csv: Path, entry: str, repeat: int) -> dict[str, Any]:
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
    from gpt_trader_research.specs import ComponentArg, parse_component

    series = load_series(csv, "BTC-USD")
    spec = BacktestSpec(
        csv,
        "BTC-USD",
        (ComponentArg("sma_cross", {"fast": 10, "slow": 30}),),
        cash=Decimal(CASH),
        entry=parse_component(entry, "entry"),
    )
    pm = make_plugin_manager()
    result = run_backtest(spec, pm, series=series)  # warm-up: imports, first assembly
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_backtest(spec, pm, series=series)
        times.append(time.perf_counter() - t)
    total = statistics.median(times)
    return {"bars": len(series), "bars_per_s": len(series) / total, **_figures(result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    csv = SAMPLE if args.quick or not FULL.exists() else FULL
    results = {entry: run_case(csv, entry, args.repeat) for entry in CASES}
    if args.json:
        print(json.dumps({"data": csv.name, "cases": results}, indent=2))
        return
    bars = next(iter(results.values()))["bars"]
    print(f"data: {csv.name} ({bars:,} bars), SMA 10/30 long only, 60/40 bps taker/maker")
    print(
        f"{'entry':72s} {'bars/s':>9s} {'entries':>8s} {'filled':>7s} {'rate':>6s} "
        f"{'reprices':>9s} {'maker':>6s} {'fees':>11s} {'equity':>13s}"
    )
    for entry, r in results.items():
        print(
            f"{entry:72s} {r['bars_per_s']:>9,.0f} {r['entries']:>8,} {r['filled']:>7,} "
            f"{r['fill_rate']:>6.0%} {r['reprices']:>9,} {r['maker_share']:>6.0%} "
            f"{r['fees']:>11s} {r['final_equity']:>13s}"
        )


if __name__ == "__main__":
    main()
