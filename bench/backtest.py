"""Issue 16's table: every row, each with its peer's figure from the same run.

    uv sync --frozen --group bench    # vectorbt (bench only); backtesting.py is in dev
    uv run python bench/backtest.py [--quick] [--repeat N] [--only ROW,...] [--json] [--profile]

Its own rows (all long-only, next-open fills, all-in sizing, 10 bps commission, 1,000,000
cash, on the shared 130,708-bar BTC file; ``--quick``, or without ``../shared``: the
shipped 3,000-bar sample and one run per figure):

- ``backtest``: SMA 10/30 cross, end to end in process: ``gpt_trader_research.engine.
  run_backtest`` with the bars already parsed (assembly, the kernel on the replay driver's
  vectorised path, the report maths: round trips, equity curve, statistics), in bars/s;
  against backtesting.py's ``FractionalBacktest(...).run()`` (satoshi units, indicators
  from the same arrays, decisions on the same rule) and vectorbt's ``MA.run`` +
  ``crossed_above``/``crossed_below`` + ``Portfolio.from_signals`` at the next open (numba
  warm-up not counted; "not installed" without the bench group);
- ``million``: a million 1m bars, whole process: ``gpt-trader backtest --data FILE ...
  --json`` as a subprocess against ``bench/peer_backtesting.py FILE`` (pandas CSV load +
  backtesting.py), wall seconds, start-up and CSV parsing included. The file is the shared
  one repeated on a continuous 1m grid, written to a temp dir (``--quick``: 20,000 bars of
  the sample). A second row reads the same bars from the Parquet catalogue
  (``--data catalog:DIR/BTC-USD@1m``, imported untimed into a temp catalogue);
- ``ensemble`` (RSI(14) 30/70 + MACD(12, 26, 9) cross, majority) against backtesting.py,
  ``bracket`` (SMA with ``--stop-loss 2 --take-profit 4``) and ``perp`` (SMA on
  ``BTC-PERP-INTX`` at 5x cross: every bar through the kernel), ours only.

The other rows come from sibling scripts run as subprocesses with ``--json --repeat N``
(and ``--quick``), each printing ``{"rows": [...]}``: ``orders`` (bench/orders.py),
``portfolio`` (bench/portfolio.py), ``sweep`` (bench/sweep.py), ``optimize``
(bench/optimize.py), ``startup`` (bench/startup.py). A missing script is a note, not a
failure. Each row: ``figure``, ``unit``, ``ours`` (one value per run), ``peer``,
``peer_values``, ``aim``; printed as min / median / max and the ratio of the medians.
``--profile`` adds a cProfile of one SMA backtest. The machine is shared: compare figures
from one run only. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.metadata
import importlib.util
import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
CASH = 1_000_000
FEE_BPS = 10
MILLION, QUICK_BARS = 1_000_000, 20_000
SMA_FIGURE = "SMA 10/30 backtest, end to end in process (bench/backtest.py)"
SMA_AIM = ">= 1,000,000 bars/s; >= 5x backtesting.py and >= 3x vectorbt in the same run"
MILLION_FIGURE = (
    "a million 1m bars, whole process (`gpt-trader backtest ... --json` vs a backtesting.py "
    "script, CSV load and start-up included)"
)
SIBLINGS = {
    "orders": "orders.py",
    "portfolio": "portfolio.py",
    "sweep": "sweep.py",
    "optimize": "optimize.py",
    "startup": "startup.py",
}
OWN = ("backtest", "million", "ensemble", "bracket", "perp")
ROWS = (*OWN, *SIBLINGS)

Row = dict[str, Any]


def row(
    figure: str,
    unit: str,
    ours: list[float],
    aim: str,
    peer: str | None = None,
    peer_values: list[float] | None = None,
) -> Row:
    return {
        "figure": figure,
        "unit": unit,
        "ours": ours,
        "peer": peer,
        "peer_values": peer_values,
        "aim": aim,
    }


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# ---- in process: the SMA case and its peers ----------------------------------------------


def _spec(csv: Path, case: str, **extra: Any) -> Any:
    from gpt_trader_research.engine import BacktestSpec
    from gpt_trader_research.specs import ComponentArg

    signals = {
        "sma": (ComponentArg("sma_cross", {"fast": 10, "slow": 30}),),
        "ensemble": (ComponentArg("rsi", {}), ComponentArg("macd_cross", {})),
    }[case]
    symbol = extra.pop("symbol", "BTC-USD")
    return BacktestSpec(csv, symbol, signals, cash=Decimal(CASH), fee_bps=Decimal(FEE_BPS), **extra)


def _ours(series: Any, spec: Any, repeat: int) -> tuple[list[float], Any]:
    """bars/s of each run of ``run_backtest`` on parsed bars, after one warm-up run."""
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import run_backtest

    pm = make_plugin_manager()
    result = run_backtest(spec, pm, series=series)  # imports, first assembly
    rates = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_backtest(spec, pm, series=series)
        rates.append(len(series) / (time.perf_counter() - t))
    return rates, result


def _frame(series: Any) -> Any:
    import numpy as np
    import pandas as pd

    index = pd.to_datetime(np.asarray(series.ts, dtype=np.int64), utc=True).tz_localize(None)
    return pd.DataFrame(
        {
            "Open": np.asarray(series.open, dtype=np.float64),
            "High": np.asarray(series.high, dtype=np.float64),
            "Low": np.asarray(series.low, dtype=np.float64),
            "Close": np.asarray(series.close, dtype=np.float64),
            "Volume": np.asarray(series.volume, dtype=np.float64),
        },
        index=index,
    )


def _bt(series: Any, case: str, repeat: int) -> tuple[list[float], int] | None:
    """bars/s of backtesting.py's run, and its trade count; None when it is not installed."""
    if importlib.util.find_spec("backtesting") is None:
        return None
    import numpy as np
    import peer_backtesting  # bench/, this script's directory
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover
    from gpt_trader_strategies.indicators import macd_array, rsi_array, sma_array

    close = np.asarray(series.close, dtype=np.float64)
    df = _frame(series)

    class SmaCross(peer_backtesting.SmaCross):
        average = staticmethod(sma_array)  # the arrays our signal computes

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
    rates, trades = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            bt = FractionalBacktest(
                df, strategy, cash=CASH, commission=FEE_BPS / 10_000, fractional_unit=1e-8
            )
            t = time.perf_counter()
            stats = bt.run()
            rates.append(len(series) / (time.perf_counter() - t))
            trades = int(stats["# Trades"])
    return rates, trades


def _vectorbt(series: Any, repeat: int) -> tuple[list[float], int] | None:
    """bars/s of vectorbt's SMA 10/30 (signals, then the portfolio at the next open)."""
    if importlib.util.find_spec("vectorbt") is None:
        return None
    import numpy as np
    import vectorbt as vbt

    df = _frame(series)
    close, open_ = df["Close"], df["Open"]

    def once(c: Any, o: Any) -> Any:
        fast = vbt.MA.run(c, window=10).ma
        slow = vbt.MA.run(c, window=30).ma
        entries = fast.vbt.crossed_above(slow).shift(1, fill_value=False)
        exits = fast.vbt.crossed_below(slow).shift(1, fill_value=False)
        return vbt.Portfolio.from_signals(
            c, entries, exits, price=o, size=np.inf, fees=FEE_BPS / 10_000, init_cash=CASH
        )

    once(close.iloc[:400], open_.iloc[:400])  # numba compilation, not counted
    rates, trades = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        pf = once(close, open_)
        trades = int(pf.trades.count())
        rates.append(len(series) / (time.perf_counter() - t))
    return rates, trades


def _case_rows(csv: Path, series: Any, only: set[str], repeat: int) -> list[Row]:
    rows: list[Row] = []
    if "backtest" in only:
        rates, result = _ours(series, _spec(csv, "sma"), repeat)
        trades = result.stats["trades"]
        bt = _bt(series, "sma", repeat)
        note = f"; {trades:,} trades, {result.kernel_bars:,} kernel bars of {len(series):,}"
        bt_peer = None if bt is None else f"backtesting.py {_version('backtesting')}"
        rows.append(
            row(SMA_FIGURE, "bars/s", rates, SMA_AIM, bt_peer, None if bt is None else bt[0])
        )
        rows[-1]["note"] = (
            "vs backtesting.py" + note + ("" if bt is None else f" (theirs {bt[1]:,} trades)")
        )
        vb = _vectorbt(series, repeat)
        rows.append(
            row(
                SMA_FIGURE,
                "bars/s",
                rates,
                SMA_AIM,
                None if vb is None else f"vectorbt {_version('vectorbt')}",
                None if vb is None else vb[0],
            )
        )
        rows[-1]["note"] = (
            "vs vectorbt: not installed (uv sync --group bench)"
            if vb is None
            else f"vs vectorbt (its own all-in sizing; {vb[1]:,} trades)"
        )
    if "ensemble" in only:
        rates, result = _ours(series, _spec(csv, "ensemble"), repeat)
        bt = _bt(series, "ensemble", repeat)
        rows.append(
            row(
                "RSI + MACD ensemble backtest, end to end in process (kept case)",
                "bars/s",
                rates,
                "-",
                None if bt is None else f"backtesting.py {_version('backtesting')}",
                None if bt is None else bt[0],
            )
        )
        rows[-1]["note"] = f"{result.stats['trades']:,} trades, {result.kernel_bars:,} kernel bars"
    if "bracket" in only:
        spec = _spec(csv, "sma", stop_loss_pct=Decimal(2), take_profit_pct=Decimal(4))
        rates, result = _ours(series, spec, repeat)
        rows.append(
            row(
                "SMA 10/30 with a 2% stop / 4% take-profit bracket (kept case)",
                "bars/s",
                rates,
                "-",
            )
        )
        rows[-1]["note"] = f"{result.stats['trades']:,} trades, {result.kernel_bars:,} kernel bars"
    if "perp" in only:
        from dataclasses import replace

        perp = replace(series, symbol="BTC-PERP-INTX")
        spec = _spec(csv, "sma", symbol="BTC-PERP-INTX", leverage=Decimal(5), margin_type="CROSS")
        rates, result = _ours(perp, spec, repeat)
        rows.append(
            row(
                "SMA 10/30 on BTC-PERP-INTX at 5x, every bar in the kernel (kept case)",
                "bars/s",
                rates,
                "-",
            )
        )
        funding = ((result.derivatives or {}).get("funding") or {}).get("payments")
        rows[-1]["note"] = f"{result.stats['trades']:,} trades, {funding} funding payments"
    return rows


# ---- whole process: a million bars ------------------------------------------------------


def write_bars(source: Path, n: int, out: Path) -> None:
    """``n`` 1m bars: ``source``'s rows over and over, on one continuous grid from its start."""
    lines = source.read_text().splitlines()
    rows = [line[line.index(",") :] for line in lines[1:] if line]
    start = datetime.fromisoformat(lines[1].split(",", 1)[0].replace("Z", "+00:00"))
    start = start.astimezone(UTC)
    minute = timedelta(minutes=1)
    with out.open("w") as f:
        f.write(lines[0] + "\n")
        for i in range(n):
            f.write(f"{(start + i * minute):%Y-%m-%dT%H:%M:%SZ}{rows[i % len(rows)]}\n")


def _timed(cmd: list[str]) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed: {tail}")
    return elapsed, json.loads(proc.stdout)


def _million_rows(source: Path, quick: bool, repeat: int) -> list[Row]:
    cli = str(Path(sys.executable).with_name("gpt-trader"))
    n = QUICK_BARS if quick else MILLION
    # No commission here: at 10 bps a million bars of SMA crossings spend the cash to
    # nothing, after which each side stops trading at its own point; free of fees both
    # sides make every trade, the same ones.
    args = ["--symbol", "BTC-USD", "--signal", "sma_cross:fast=10,slow=30"]
    args += ["--cash", str(CASH), "--fee-bps", "0", "--json"]
    has_bt = importlib.util.find_spec("backtesting") is not None
    with tempfile.TemporaryDirectory(prefix="bench-million-") as tmp:
        csv = Path(tmp) / "btc_1m.csv"
        write_bars(source, n, csv)
        cat = Path(tmp) / "catalog"
        subprocess.run(
            [cli, "data", "import", str(csv), "--symbol", "BTC-USD", "--catalog", str(cat)],
            capture_output=True,
            check=True,
        )
        peer_cmd = [sys.executable, str(BENCH / "peer_backtesting.py"), str(csv), "0"]
        cases = {
            "csv": [cli, "backtest", "--data", str(csv), *args],
            "catalog": [cli, "backtest", "--data", f"catalog:{cat}/BTC-USD@1m", *args],
        }
        ours: dict[str, list[float]] = {k: [] for k in cases}
        peer: list[float] = []
        trades: dict[str, Any] = {}
        for _ in range(repeat):  # interleaved, so both sides see the same machine
            for key, cmd in cases.items():
                elapsed, out = _timed(cmd)
                ours[key].append(elapsed)
                trades[key] = out["stats"]["trades"]
            if has_bt:
                elapsed, out = _timed(peer_cmd)
                peer.append(elapsed)
                trades["peer"] = out["trades"]
    name = f"backtesting.py {_version('backtesting')} script" if has_bt else None
    rows = []
    for key, label in (("csv", "CSV"), ("catalog", "Parquet catalogue")):
        r = row(
            MILLION_FIGURE, "s", ours[key], ">= 3x backtesting.py", name, peer if has_bt else None
        )
        r["note"] = f"{n:,} bars from {label}; {trades[key]:,} trades" + (
            f" (theirs {trades['peer']:,})" if has_bt else ""
        )
        rows.append(r)
    return rows


# ---- sibling scripts ----------------------------------------------------------------------


def _sibling_rows(name: str, quick: bool, repeat: int) -> tuple[list[Row], str | None]:
    script = BENCH / SIBLINGS[name]
    if not script.is_file():
        return [], f"{name}: bench/{script.name} is missing; row skipped"
    cmd = [sys.executable, str(script), "--json", "--repeat", str(repeat)]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"{name}: bench/{script.name} failed ({proc.returncode}): {tail}"
    try:
        rows = json.loads(proc.stdout)["rows"]
    except (ValueError, KeyError, TypeError):
        return [], f"{name}: bench/{script.name} printed no rows JSON"
    return [{**r, "source": f"bench/{script.name}"} for r in rows], None


# ---- the table ----------------------------------------------------------------------------


def _spread(values: list[float] | None) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def ratio(r: Row) -> float | None:
    """How many times better ours is, from the medians (rates: ours/peer, else peer/ours)."""
    ours, peer = _spread(r["ours"]), _spread(r.get("peer_values"))
    if ours is None or peer is None or not ours["median"] or not peer["median"]:
        return None
    higher_is_better = r["unit"].endswith("/s")
    if higher_is_better:
        return ours["median"] / peer["median"]
    return peer["median"] / ours["median"]


def _fmt(spread: dict[str, float] | None, unit: str) -> str:
    if spread is None:
        return "-"
    digits = 0 if unit.endswith("/s") or unit in ("MB",) else 3
    parts = [f"{spread[k]:,.{digits}f}" for k in ("min", "median", "max")]
    return f"{parts[1]} ({parts[0]}..{parts[2]}) {unit}"


def print_table(rows: list[Row], notes: list[str], data: str) -> None:
    print(f"data: {data}; figures: median (min..max) of the runs; ratio: ours vs peer, medians")
    for r in rows:
        print(f"\n{r['figure']}")
        print(f"  ours   {_fmt(_spread(r['ours']), r['unit'])}")
        if r.get("peer"):
            print(f"  peer   {_fmt(_spread(r.get('peer_values')), r['unit'])}  [{r['peer']}]")
        x = ratio(r)
        print(f"  ratio  {'-' if x is None else f'{x:.2f}x'}   aim: {r['aim']}")
        if r.get("note"):
            print(f"  note   {r['note']}")
    for note in notes:
        print(f"\nnote: {note}")


def _profile(csv: Path, series: Any) -> str:
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import run_backtest_async

    spec, pm = _spec(csv, "sma"), make_plugin_manager()
    asyncio.run(run_backtest_async(spec, pm, series=series))
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(run_backtest_async(spec, pm, series=series))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
    return out.getvalue()


def _only(text: str | None) -> set[str]:
    if not text:
        return set(ROWS)
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(ROWS)
    if unknown:
        raise SystemExit(
            f"--only: unknown row {', '.join(sorted(unknown))} (use {', '.join(ROWS)})"
        )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the shipped sample, one run")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--only", help=f"comma-separated rows: {', '.join(ROWS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="cProfile one SMA backtest")
    args = parser.parse_args()
    only = _only(args.only)
    repeat = args.repeat or (1 if args.quick else 5)
    csv = SAMPLE if args.quick or not FULL.exists() else FULL
    rows: list[Row] = []
    notes: list[str] = []
    series = None
    if only & {"backtest", "ensemble", "bracket", "perp"} or args.profile:
        from gpt_trader_research.engine import load_series

        series = load_series(csv, "BTC-USD")
        rows += _case_rows(csv, series, only, repeat)
    steps: list[tuple[str, Callable[[], tuple[list[Row], str | None]]]] = []
    if "million" in only:
        steps.append(("million", lambda: (_million_rows(csv, args.quick, repeat), None)))
    for name in SIBLINGS:
        if name in only:
            steps.append((name, lambda name=name: _sibling_rows(name, args.quick, repeat)))
    for name, step in steps:
        try:
            got, note = step()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            got, note = [], f"{name}: {exc}"
        rows += got
        if note:
            notes.append(note)
    profile_text = _profile(csv, series) if args.profile else ""
    if args.json:
        out: dict[str, Any] = {"data": csv.name, "repeat": repeat, "rows": rows, "notes": notes}
        if profile_text:
            out["profile"] = profile_text
        print(json.dumps(out, indent=2, default=str))
        return
    print_table(rows, notes, f"{csv.name}, {repeat} run(s) per figure")
    if profile_text:
        print("\ncProfile of one SMA backtest (tottime):")
        print(profile_text)


if __name__ == "__main__":
    main()
