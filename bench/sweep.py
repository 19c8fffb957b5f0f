"""SMA-cross parameter sweep: ours (`gpt-trader sweep`) against vectorbt's broadcast sweep.

    uv sync --group bench   # vectorbt (bench only)
    uv run python bench/sweep.py [--quick] [--repeat N] [--json]

The grid is 1,000 (fast, slow) pairs: fast 2..41, slow 50..290 step 10; long-only, decided
at a bar's close, filled at the next bar's open, all-in, 60 bps per side, 100,000 cash.
On the shared 130,708-bar BTC file (``--quick``, or without ``../shared``: the shipped
3,000-bar sample).

Ours: :func:`gpt_trader_research.sweep.sweep` on bars already parsed: the vectorised pass
over every pair plus the exact Decimal replay of the best candidates; the kernel re-check
of the top 5 (a full backtest each) is timed apart and says whether the kernel agrees.
vectorbt: ``MA.run`` for the fast and the slow windows, ``crossed_above`` /
``crossed_below``, signals shifted one bar and ``Portfolio.from_signals`` at the opens
(``size=inf``, ``fees=0.006``), in chunks of 250 pairs (1,000 x 130k float columns do not
fit in memory at once); its numba compilation is warmed up on a small input first and not
counted. Its sizing is vectorbt's own (all cash at the open), so its best pair is shown
beside ours, not asserted equal. Figures: min / median / max of ``--repeat`` runs in this
one process; the machine is shared, so compare figures from one run only. Nothing here
asserts a speed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
SYMBOL = "BTC-USD"
FAST, SLOW = "2:41", "50:290:10"
CASH, FEE_BPS = Decimal(100_000), Decimal(60)
TOP = 5
CHUNK = 250


FIGURE = "parameter sweep: 1,000 SMA (fast, slow) pairs over the 130k bars"
AIM = "faster than vectorbt's broadcast sweep of the same grid in the same run"


def _spread(times: list[float]) -> dict[str, float]:
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def _ours(csv: Path, repeat: int) -> dict[str, Any]:
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.registry import Registry
    from gpt_trader.sim.products import default_products
    from gpt_trader_research.engine import BacktestSpec, load_series
    from gpt_trader_research.sweep import Costs, grid, parse_range, recheck, sweep

    pm = make_plugin_manager()
    t0 = time.perf_counter()
    bars = load_series(csv, SYMBOL)
    load_s = time.perf_counter() - t0
    product = default_products([SYMBOL], Registry(pm).catalogues())[SYMBOL]
    pairs = grid(parse_range("--fast", FAST), parse_range("--slow", SLOW))
    costs = Costs(CASH, FEE_BPS / 10_000)
    times = []
    for _ in range(repeat):
        best, elapsed = sweep(bars, product, pairs, costs, top=TOP)
        times.append(elapsed)
    spec = BacktestSpec(data=csv, symbol=SYMBOL, cash=CASH, fee_bps=FEE_BPS)
    t0 = time.perf_counter()
    for r in best:
        recheck(spec, bars, r, pm)
    return {
        "bars": len(bars),
        "pairs": len(pairs),
        "csv_load_s": load_s,
        "sweep_s": _spread(times),
        "_times": times,
        "recheck_top_s": time.perf_counter() - t0,
        "top": [r.to_json(CASH, product.quote) for r in best],
        "_close": bars.close,
        "_open": bars.open,
        "_pairs": pairs,
    }


def _vectorbt_chunk(vbt: Any, close: Any, open_: Any, pairs: list[tuple[int, int]]) -> Any:
    import numpy as np
    import pandas as pd

    fast = vbt.MA.run(close, window=[f for f, _ in pairs]).ma.to_numpy()
    slow = vbt.MA.run(close, window=[s for _, s in pairs]).ma.to_numpy()
    columns = pd.RangeIndex(len(pairs))
    fast_df = pd.DataFrame(fast, index=close.index, columns=columns)
    slow_df = pd.DataFrame(slow, index=close.index, columns=columns)
    # decided at the close, filled at the next open
    entries = fast_df.vbt.crossed_above(slow_df).shift(1, fill_value=False)
    exits = fast_df.vbt.crossed_below(slow_df).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=open_,
        size=np.inf,
        fees=float(FEE_BPS / 10_000),
        init_cash=float(CASH),
        freq="1min",
    )
    return pf.final_value().to_numpy()


def _vectorbt(ours: dict[str, Any], repeat: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    close = pd.Series(ours["_close"], dtype="float64")
    open_ = pd.Series(ours["_open"], dtype="float64")
    pairs = ours["_pairs"]
    t0 = time.perf_counter()
    _vectorbt_chunk(vbt, close.iloc[:400], open_.iloc[:400], pairs[:3])  # numba compile
    warm_s = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        finals = np.concatenate(
            [
                _vectorbt_chunk(vbt, close, open_, pairs[i : i + CHUNK])
                for i in range(0, len(pairs), CHUNK)
            ]
        )
        times.append(time.perf_counter() - t0)
    best = int(np.argmax(finals))
    return {
        "version": vbt.__version__,
        "warmup_s": warm_s,
        "sweep_s": _spread(times),
        "times": times,
        "best": {"fast": pairs[best][0], "slow": pairs[best][1], "final_value": finals[best]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    csv = SAMPLE if args.quick or not FULL.exists() else FULL
    ours = _ours(csv, args.repeat)
    has_vbt = importlib.util.find_spec("vectorbt") is not None
    theirs = _vectorbt(ours, args.repeat) if has_vbt else None
    results: dict[str, Any] = {
        "data": csv.name,
        "ours": {k: v for k, v in ours.items() if not k.startswith("_")},
        "vectorbt": theirs or "not installed (uv sync --group bench)",
    }
    if theirs is not None:
        results["ratio_median"] = theirs["sweep_s"]["median"] / ours["sweep_s"]["median"]
    if args.json:
        agree = all(r["matches_kernel"] for r in results["ours"]["top"])
        results["rows"] = [
            {
                "figure": FIGURE,
                "unit": "s",
                "ours": ours["_times"],
                "peer": None if theirs is None else f"vectorbt {theirs['version']}",
                "peer_values": None if theirs is None else theirs["times"],
                "aim": AIM,
                "note": f"{ours['pairs']:,} pairs over {ours['bars']:,} bars; the top {TOP} "
                + ("re-run through the kernel agree" if agree else "DIFFER from the kernel"),
            }
        ]
        print(json.dumps(results, indent=2, default=str))
        return
    o = results["ours"]
    s = o["sweep_s"]
    print(
        f"data: {csv.name} ({o['bars']:,} bars, csv load {o['csv_load_s'] * 1000:.0f} ms, "
        f"not in the figures); grid: {o['pairs']:,} pairs (fast {FAST}, slow {SLOW})"
    )
    print(
        f"gpt-trader sweep  {s['median']:.3f} s median (min {s['min']:.3f}, max {s['max']:.3f}; "
        f"{o['pairs'] / s['median']:,.0f} pairs/s); kernel re-check of the top {TOP}: "
        f"{o['recheck_top_s']:.2f} s"
    )
    for r in o["top"]:
        verdict = "same" if r["matches_kernel"] else f"DIFFERS: kernel {r['kernel']}"
        print(
            f"    {r['fast']:>3}/{r['slow']:<3} {r['trades']:>5} trades  "
            f"final equity {r['final_equity']:>12}  kernel: {verdict}"
        )
    if theirs is None:
        print(f"vectorbt: {results['vectorbt']}")
        return
    v = theirs["sweep_s"]
    b = theirs["best"]
    print(
        f"vectorbt {theirs['version']:8s} {v['median']:.3f} s median (min {v['min']:.3f}, "
        f"max {v['max']:.3f}; numba warm-up {theirs['warmup_s']:.1f} s not counted); "
        f"best {b['fast']}/{b['slow']} final value {b['final_value']:,.2f}"
    )
    print(f"ratio: ours {results['ratio_median']:.1f}x faster (medians)")


if __name__ == "__main__":
    main()
