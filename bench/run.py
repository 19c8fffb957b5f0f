"""GPT-Trader kernel benchmarks: replay throughput, tick-to-order latency, peak RSS.

    uv run python bench/run.py [--quick] [--json]

Figures go to stdout. Nothing here asserts a speed; read the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orders import latency

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"


def _config(csv: Path, **run: Any) -> Any:
    from gpt_trader.config import BotConfig

    return BotConfig(
        profile={"name": "bench", "universe": ["BTC-USD"]},
        broker={
            "use": "sim",
            "market_fill": "next_open",
            "persist": False,
            "starting_cash": "100000000",
        },
        feed={"use": "csv", "path": str(csv), "symbol": "BTC-USD"},
        signals=[{"use": "sma_cross", "fast": 10, "slow": 30}],
        voter={"use": "majority"},
        sizer={"use": "fixed", "size": "1"},
        run={"record_market": False, **run},
    )


async def _replay(csv: Path, vectorised: bool) -> dict[str, Any]:
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.runtime import replay as _r

    run_events, run_series = _r.run_events, _r.run_series

    pm = make_plugin_manager()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await assemble(_config(csv), pm, Path(tmp), replay=True, durable=False)
        await start(runtime)
        t0 = time.perf_counter()
        series = runtime.feed.bar_series(["BTC-USD"])[0]
        load_s = time.perf_counter() - t0
        kernel = runtime.kernel
        t1 = time.perf_counter()
        if vectorised:
            stats = await run_series(kernel, runtime.clock, series)
        else:
            stats = await run_events(kernel, runtime.clock, series.candles(), guard_interval_s=60.0)
        run_s = time.perf_counter() - t1
        summary = await finish(runtime, "bench")
    return {
        "path": stats.path,
        "bars": len(series),
        "kernel_bars": stats.kernel_bars,
        "load_s": load_s,
        "run_s": run_s,
        "bars_per_s": len(series) / run_s,
        "orders": summary["orders"],
        "fills": summary["fills"],
        "equity": summary["equity"],
    }


_RSS_WRAPPER = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
if proc.returncode:
    sys.exit(proc.stderr[-500:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _rss() -> dict[str, float]:
    """Peak RSS of `run --profile dev`, measured by a small wrapper process: a child forked
    from this (large) process would count this process's pages too."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "gpt_trader",
            "run",
            "--profile",
            "dev",
            "--dev-fast",
            "--max-events",
            "3000",
            "--state-dir",
            tmp,
            "--json",
        ]
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, *cmd],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(f"run --profile dev failed: {proc.stderr[-500:]}")
    return {"peak_rss_mb": int(proc.stdout.strip()) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=3, help="replay runs per path (median)")
    args = parser.parse_args()
    csv = SAMPLE if args.quick or not FULL.exists() else FULL
    results: dict[str, Any] = {"data": str(csv.name)}
    for vectorised in (True, False):
        runs = [asyncio.run(_replay(csv, vectorised)) for _ in range(args.repeat)]
        best = sorted(runs, key=lambda r: r["bars_per_s"])[len(runs) // 2]
        results["replay_" + best["path"]] = best
    ticks = 2000 if args.quick else 10000
    # The measure lives in bench/orders.py (with its min/median/max over repeats).
    results["latency"] = asyncio.run(latency(ticks, writer=True))
    results["latency_no_writer"] = asyncio.run(latency(ticks, writer=False))
    results["rss"] = _rss()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    print(f"data: {results['data']}")
    for key in ("replay_vectorised", "replay_events"):
        r = results[key]
        print(
            f"{key:18s} {r['bars']:>8,} bars  {r['bars_per_s']:>12,.0f} bars/s  "
            f"(kernel bars {r['kernel_bars']:,}, run {r['run_s'] * 1000:.1f} ms, csv load {r['load_s'] * 1000:.0f} ms, "
            f"orders {r['orders']}, fills {r['fills']})"
        )
    for key, label in (("latency", "store writer"), ("latency_no_writer", "no writer")):
        lat = results[key]
        print(
            f"tick->order latency  p50 {lat['p50_us']:.1f} us  p99 {lat['p99_us']:.1f} us  "
            f"max {lat['max_us']:.0f} us  ({lat['orders']} orders, {label})"
        )
    print(f"run --profile dev    peak RSS {results['rss']['peak_rss_mb']:.1f} MB")


if __name__ == "__main__":
    main()
