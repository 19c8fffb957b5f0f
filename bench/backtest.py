"""`gpt-trader backtest` throughput against backtesting.py, on the same bars, in one run.

    uv run python bench/backtest.py [--quick] [--repeat N] [--json] [--profile]

Two strategies, long-only, next-open fills, all-in sizing, 10 bps commission, 1,000,000 cash:

- ``sma``: SMA 10/30 cross (``--signal sma_cross:fast=10,slow=30``);
- ``ensemble``: RSI(14) 30/70 reversion + MACD(12, 26, 9) cross under the majority voter;
- ``sma_bracket``: the SMA case with ``--stop-loss 2 --take-profit 4`` (a venue bracket per
  position; every bar with a position goes through the kernel), ours only.

Ours: ``gpt_trader_research.engine.run_backtest`` with the bars already parsed (the CSV load
is timed separately): assembly, the kernel on the replay driver's vectorised path, and the
report maths (round trips, equity curve, statistics). "kernel" is start + replay + finish
only. backtesting.py: ``FractionalBacktest(...).run()`` (satoshi units), indicators from the
same arrays our signals compute, decisions on the same rule. ``perp``: the SMA case on
``BTC-PERP-INTX`` at 5x cross (the same bars as the perpetual's prices), ours only, since
backtesting.py has no funding or margin: every bar goes through the kernel (funding,
margin-call watch, liquidation checks). vectorbt is reported only if it is installed. Figures are medians of ``--repeat`` runs; the machine is shared, so compare
figures from one run only. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import importlib.util
import io
import json
import pstats
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
CASH = 1_000_000
FEE_BPS = 10


def _ours(csv: Path, case: str, repeat: int, **exits: Any) -> dict[str, Any]:
    from decimal import Decimal

    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
    from gpt_trader_research.specs import ComponentArg

    t0 = time.perf_counter()
    series = load_series(csv, "BTC-USD")
    load_s = time.perf_counter() - t0
    signals = {
        "sma": (ComponentArg("sma_cross", {"fast": 10, "slow": 30}),),
        "ensemble": (ComponentArg("rsi", {}), ComponentArg("macd_cross", {})),
    }[case]
    spec = BacktestSpec(
        csv, "BTC-USD", signals, cash=Decimal(CASH), fee_bps=Decimal(FEE_BPS), **exits
    )
    pm = make_plugin_manager()
    run_backtest(spec, pm, series=series)  # warm-up: imports, first assembly
    totals, kernels = [], []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_backtest(spec, pm, series=series)
        totals.append(time.perf_counter() - t)
        kernels.append(result.elapsed_s)
    assert result is not None
    n = len(series)
    total, kernel = statistics.median(totals), statistics.median(kernels)
    return {
        "bars": n,
        "csv_load_s": load_s,
        "total_s": total,
        "kernel_s": kernel,
        "bars_per_s": n / total,
        "kernel_bars_per_s": n / kernel,
        "kernel_bars": result.kernel_bars,
        "path": result.path,
        "trades": result.stats["trades"],
        "orders": result.summary["orders"],
        "final_equity": str(result.final_equity),
        "exit_reasons": dict(
            collections.Counter(t.exit_reason for t in result.trips if t.exit_reason)
        ),
        "_spec": spec,
        "_series": series,
        "_pm": pm,
    }


def _perp(csv: Path, repeat: int) -> dict[str, Any]:
    """The SMA case on a perpetual at 5x: the derivative path (every bar in the kernel)."""
    from dataclasses import replace
    from decimal import Decimal

    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
    from gpt_trader_research.specs import ComponentArg

    series = replace(load_series(csv, "BTC-USD"), symbol="BTC-PERP-INTX")
    spec = BacktestSpec(
        csv,
        "BTC-PERP-INTX",
        (ComponentArg("sma_cross", {"fast": 10, "slow": 30}),),
        cash=Decimal(CASH),
        fee_bps=Decimal(FEE_BPS),
        leverage=Decimal(5),
        margin_type="CROSS",
    )
    pm = make_plugin_manager()
    run_backtest(spec, pm, series=series)
    totals, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_backtest(spec, pm, series=series)
        totals.append(time.perf_counter() - t)
    assert result is not None
    total = statistics.median(totals)
    deriv = result.derivatives or {}
    funding = deriv.get("funding") or {}
    return {
        "bars": len(series),
        "total_s": total,
        "bars_per_s": len(series) / total,
        "path": result.path,
        "trades": result.stats["trades"],
        "funding_payments": funding.get("payments"),
        "funding_net": funding.get("net"),
        "margin_calls": (deriv.get("margin_calls") or {}).get("count"),
        "final_equity": str(result.final_equity),
    }


def _bt(series: Any, case: str, repeat: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover
    from gpt_trader_strategies.indicators import macd_array, rsi_array, sma_array

    close = np.asarray(series.close, dtype=np.float64)
    index = pd.to_datetime(np.asarray(series.ts, dtype=np.int64), utc=True).tz_localize(None)
    df = pd.DataFrame(
        {
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume,
        },
        index=index,
    )

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma_array, close, 10, name="sma10")
            self.slow = self.I(sma_array, close, 30, name="sma30")

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    class Ensemble(Strategy):
        """Each signal's view changes on its crossing events; act on the majority of the
        views present when a view changes (a tie is flat), as the kernel does."""

        def init(self) -> None:
            self.rsi = self.I(rsi_array, close, 14, name="rsi")
            line, signal, _ = macd_array(close, 12, 26, 9)
            self.line = self.I(lambda: line, name="macd")
            self.signal = self.I(lambda: signal, name="signal")
            self.views: dict[str, int] = {}

        def next(self) -> None:
            changed = False
            if crossover(self.rsi, 30) and self.views.get("rsi") != 1:
                self.views["rsi"], changed = 1, True
            elif crossover(70, self.rsi) and self.views.get("rsi") != 0:
                self.views["rsi"], changed = 0, True
            if crossover(self.line, self.signal) and self.views.get("macd") != 1:
                self.views["macd"], changed = 1, True
            elif crossover(self.signal, self.line) and self.views.get("macd") != 0:
                self.views["macd"], changed = 0, True
            if not changed:
                return
            longs = sum(self.views.values())
            want_long = longs * 2 > len(self.views)
            if want_long and not self.position:
                self.buy()
            elif not want_long and self.position:
                self.position.close()

    strategy = {"sma": SmaCross, "ensemble": Ensemble}[case]
    times = []
    stats = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            bt = FractionalBacktest(
                df, strategy, cash=CASH, commission=FEE_BPS / 10_000, fractional_unit=1e-8
            )
            t = time.perf_counter()
            stats = bt.run()
            times.append(time.perf_counter() - t)
    assert stats is not None
    run_s = statistics.median(times)
    return {
        "run_s": run_s,
        "bars_per_s": len(series) / run_s,
        "trades": int(stats["# Trades"]),
        "final_equity": float(stats["Equity Final [$]"]),
    }


def _profile(ours: dict[str, Any]) -> str:
    from gpt_trader_research.engine import run_backtest_async

    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(run_backtest_async(ours["_spec"], ours["_pm"], series=ours["_series"]))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped 3,000-bar sample only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="cProfile one SMA backtest")
    args = parser.parse_args()
    csv = SAMPLE if args.quick or not FULL.exists() else FULL
    results: dict[str, Any] = {"data": csv.name}
    profile_text = ""
    for case in ("sma", "ensemble"):
        ours = _ours(csv, case, args.repeat)
        theirs = _bt(ours["_series"], case, args.repeat)
        if case == "sma" and args.profile:
            profile_text = _profile(ours)
        public = {k: v for k, v in ours.items() if not k.startswith("_")}
        results[case] = {
            "ours": public,
            "backtesting_py": theirs,
            "ratio_total": public["bars_per_s"] / theirs["bars_per_s"],
            "ratio_kernel": public["kernel_bars_per_s"] / theirs["bars_per_s"],
        }
    bracket = _ours(csv, "sma", args.repeat, stop_loss_pct=2, take_profit_pct=4)
    results["sma_bracket"] = {k: v for k, v in bracket.items() if not k.startswith("_")}
    results["perp"] = _perp(csv, args.repeat)
    vbt = importlib.util.find_spec("vectorbt") is not None
    results["vectorbt"] = "installed (not benchmarked here)" if vbt else "not installed"
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    print(
        f"data: {results['data']}  ({results['sma']['ours']['bars']:,} bars, csv load "
        f"{results['sma']['ours']['csv_load_s'] * 1000:.0f} ms, not in the figures)"
    )
    for case in ("sma", "ensemble"):
        r = results[case]
        o, b = r["ours"], r["backtesting_py"]
        print(
            f"{case:9s} gpt-trader  {o['bars_per_s']:>11,.0f} bars/s end to end "
            f"({o['total_s'] * 1000:,.0f} ms; kernel {o['kernel_bars_per_s']:,.0f} bars/s, "
            f"{o['kernel_bars']:,} kernel bars, {o['orders']:,} orders, {o['trades']:,} trades)"
        )
        print(
            f"{'':9s} backtesting {b['bars_per_s']:>11,.0f} bars/s "
            f"({b['run_s'] * 1000:,.0f} ms, {b['trades']:,} trades)"
        )
        print(
            f"{'':9s} ratio       {r['ratio_total']:>11.2f}x end to end, "
            f"{r['ratio_kernel']:.2f}x kernel only"
        )
    o = results["sma_bracket"]
    print(
        f"sma 2/4   gpt-trader  {o['bars_per_s']:>11,.0f} bars/s end to end "
        f"({o['total_s'] * 1000:,.0f} ms, {o['path']} path, {o['kernel_bars']:,} kernel bars, "
        f"{o['trades']:,} trades: {o['exit_reasons']})"
    )
    perp = results["perp"]
    print(
        f"perp      gpt-trader  {perp['bars_per_s']:>11,.0f} bars/s end to end "
        f"({perp['total_s'] * 1000:,.0f} ms, {perp['path']} path, {perp['trades']} trades, "
        f"{perp['funding_payments']} funding payments ({perp['funding_net']}), "
        f"{perp['margin_calls']} margin calls)"
    )
    print(f"vectorbt: {results['vectorbt']}")
    if profile_text:
        print("\ncProfile of one SMA backtest (tottime):")
        print(profile_text)


if __name__ == "__main__":
    main()
