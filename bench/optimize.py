"""``gpt-trader optimize`` on 2 workers against 1: trials per second, and the same trials.

    uv run python bench/optimize.py [--quick] [--trials N] [--repeat N] [--json]

The study: SMA-cross ``fast`` 5..30 and ``slow`` 40..120 (no pair is pruned, so every trial
is a backtest), Sharpe, seed 7, batches of 8, on the shared 130,708-bar BTC file (the
shipped 3,000-bar sample with ``--quick`` or without ``../shared``), each trial a full
backtest through the kernel. Each repeat runs the study with ``jobs=1`` and with
``jobs=2`` (a fresh process pool each time, its start counted) in this process, on bars
already loaded (after one small study to import everything), and checks that both found
the same trials with the same values. Printed:
trials/s for each (min / median / max of ``--repeat``), the ratio of the medians and the
ratio per repeat, and the share of the 2-worker study's wall time its workers spent in
trials (what the code controls: pool start, the batch barrier and the sampler's turns in
the parent are the rest). The machine is shared: two workers get two cores only when nobody else
is busy, so read the ratio with the machine's load beside it. Nothing here asserts a
speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
FIGURE = "optimize on 2 workers vs 1"


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def timed_trials() -> None:
    """Each trial also reports its wall time (the pool's workers inherit this by fork), so
    the share of the study the workers spent in trials can be printed."""
    from gpt_trader_research import optimize

    evaluate = optimize.evaluate

    def timed(task: Any, pm: Any = None) -> dict[str, Any]:
        t = time.perf_counter()
        out = evaluate(task) if pm is None else evaluate(task, pm)
        out["bench_wall_s"] = time.perf_counter() - t
        return out

    # the pool pickles the function by its name: the workers look up the timed one
    timed.__module__, timed.__qualname__ = optimize.__name__, "evaluate"
    optimize.evaluate = timed  # type: ignore[assignment]


def study(csv: Path, trials: int, jobs: int, state_dir: Path) -> tuple[float, float, list[Any]]:
    """trials/s, the share of (jobs x the study's wall time) spent in trials, the trials."""
    from gpt_trader_research.engine import BacktestSpec
    from gpt_trader_research.optimize import OptimizeSpec, run_optimize
    from gpt_trader_research.specs import ComponentArg, parse_space

    signals = (ComponentArg("sma_cross", {}),)
    spec = OptimizeSpec(
        base=BacktestSpec(csv, "BTC-USD", signals, fee_bps=Decimal(10)),
        space=(
            parse_space("fast=5:30", list(signals)),
            parse_space("slow=40:120", list(signals)),
        ),
        trials=trials,
        batch=8,
        seed=7,
        jobs=jobs,
    )
    t = time.perf_counter()
    result = run_optimize(spec, state_dir)
    elapsed = time.perf_counter() - t
    done = result.folds[0].trials
    busy = sum(r.metrics.get("bench_wall_s", 0.0) for r in done) / (jobs * elapsed)
    found = [(r.number, r.params, r.state, r.value, r.metrics.get("final_equity"))
             for r in done]  # fmt: skip
    return trials / elapsed, busy, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample")
    parser.add_argument("--trials", type=int, default=None, help="trials per study")
    parser.add_argument("--repeat", type=int, default=5, help="studies per worker count")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    csv = SAMPLE if args.quick or not FULL.is_file() else FULL
    trials = args.trials or 16
    from gpt_trader_research.engine import load_series

    load_series(csv, "BTC-USD")  # parsed once, before any pool starts: not in the figures
    timed_trials()
    with tempfile.TemporaryDirectory(prefix="bench-optimize-") as tmp:
        study(csv, 2, 1, Path(tmp))  # imports and the plugins' set-up: not in the figures
    one: list[float] = []
    two: list[float] = []
    busy: list[float] = []
    same = True
    with tempfile.TemporaryDirectory(prefix="bench-optimize-") as tmp:
        for _ in range(args.repeat):
            rate1, _, found1 = study(csv, trials, 1, Path(tmp))
            rate2, busy2, found2 = study(csv, trials, 2, Path(tmp))
            one.append(rate1)
            two.append(rate2)
            busy.append(busy2)
            same = same and found1 == found2
    ratio = statistics.median(two) / statistics.median(one)
    out = {
        "rows": [
            {
                "figure": FIGURE,
                "unit": "x trials/s (2 workers / 1, per repeat)",
                "ours": [b / a for a, b in zip(one, two, strict=True)],
                "peer": None,
                "peer_values": None,
                "aim": ">= 1.8x trials/s",
            }
        ],
        "data": csv.name,
        "trials": trials,
        "jobs1_trials_per_s": spread(one),
        "jobs2_trials_per_s": spread(two),
        "ratio_of_medians": ratio,
        "jobs2_busy_share": spread(busy),
        "same_trials": same,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"optimize: {trials} trials of SMA cross on {csv.name}, batches of 8")
    for label, key in (("jobs=1", "jobs1_trials_per_s"), ("jobs=2", "jobs2_trials_per_s")):
        s = out[key]
        print(
            f"  {label}  {s['median']:7.2f} trials/s median "
            f"(min {s['min']:.2f}, max {s['max']:.2f})"
        )
    per = ", ".join(f"{x:.2f}" for x in out["rows"][0]["ours"])
    print(f"  ratio {ratio:.2f}x (medians); per repeat {per}")
    b = out["jobs2_busy_share"]
    print(
        f"  jobs=2 workers in trials {b['median']:.0%} of the study's wall time "
        f"(min {b['min']:.0%}, max {b['max']:.0%}; the rest: pool start, batch ends, the "
        "sampler in the parent)"
    )
    print(f"  same trials with 1 and 2 workers: {same}; load average {out['load_average']}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
