"""What compiling the order hot path with mypyc would buy (issue 16): the same figures from
the pure-Python core and from a compiled copy of it, and whether the results are the same.

    uv run --group bench python bench/compiled.py [--quick] [--repeat N] [--json]

Copies ``core/src/gpt_trader`` to a temporary directory, compiles :data:`MODULES` there
with mypyc (a C compiler and the Python headers are needed; ~1 minute on 2 cores) and runs
each figure in a child process on each copy, alternately, twice:

- the SMA 10/30 backtest in process (``run_backtest`` on parsed bars, bars/s by CPU time,
  after a warm-up run) on the shared 130,708-bar BTC file (the shipped sample with
  ``--quick`` or without ``../shared``), with its round trips, final equity and fees;
- the order cost of ``bench/orders.py`` (µs of CPU per order through kernel + sim exchange)
  and the kernel's own share (a broker that fills at once).

Nothing is installed or left behind: the compiled copy lives in the temporary directory and
reaches the child through ``PYTHONPATH`` (an extension module wins over the ``.py`` beside
it). The child says which file its kernel came from, so a failed build cannot pass for a
compiled run. Nothing here asserts a speed. Modules left out: ``engine/guards.py``
(mypyc 1.x emits C that does not compile for ``GuardStack._run``'s ``*args``) and
``domain/events.py`` (its dataclass hierarchy is rejected at import).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
MODULES = [
    "domain/money.py",
    "domain/orders.py",
    "domain/portfolio.py",
    "domain/products.py",
    "domain/decisions.py",
    "domain/market.py",
    "engine/kernel.py",
    "engine/ledger.py",
    "engine/book.py",
    "engine/execution.py",
    "sim/matching.py",
    "sim/exchange.py",
    "sim/ledger.py",
    "sim/book.py",
    "sim/broker.py",
]
CHILD = "--child"


def build(into: Path) -> None:
    """A compiled copy of the core package in ``into``; exits with the build's tail on error."""
    shutil.copytree(
        REPO / "core" / "src" / "gpt_trader",
        into / "gpt_trader",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    cmd = [sys.executable, "-m", "mypyc", *(f"gpt_trader/{m}" for m in MODULES)]
    done = subprocess.run(cmd, cwd=into, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise SystemExit("mypyc failed:\n  " + "\n  ".join(tail))


def child(csv: Path, repeat: int, orders_n: int) -> dict[str, Any]:
    """The figures in this process, on whichever core ``PYTHONPATH`` put first."""
    import asyncio
    import time

    sys.path.insert(0, str(REPO / "bench"))
    import orders
    from backtest import _spec
    from gpt_trader.engine import kernel
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader_research.engine import load_series, run_backtest

    spec = _spec(csv, "sma")
    series = load_series(csv, spec.symbol)
    pm = make_plugin_manager()
    result = run_backtest(spec, pm, series=series)  # imports, first assembly
    u = result.units
    rates = []
    for _ in range(repeat):
        t = time.process_time()
        run_backtest(spec, pm, series=series)
        rates.append(len(series) / (time.process_time() - t))
    cost = [asyncio.run(orders.order_cost(orders_n))[0] for _ in range(repeat)]
    alone = [asyncio.run(orders.order_cost(orders_n, instant=True))[0] for _ in range(repeat)]
    return {
        "kernel_file": Path(kernel.__file__ or "").name,
        "bars_per_s": rates,
        "order_us": cost,
        "kernel_alone_us": alone,
        "result": [len(result.trips), u.cash(result.final_equity), u.cash(result.fees)],
    }


def run_child(csv: Path, repeat: int, orders_n: int, path: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    args = [str(csv), str(repeat), str(orders_n)]
    out = subprocess.run(
        [sys.executable, __file__, CHILD, *args], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"the child failed:\n{out.stderr.strip()}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(v for r in runs for v in r[key])


def _spread(runs: list[dict[str, Any]], key: str) -> str:
    values = [v for r in runs for v in r[key]]
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}..{max(values):,.1f})"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        csv, repeat, orders_n = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(child(csv, repeat, orders_n)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the sample, fewer orders")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure per child")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        raise SystemExit("no C compiler (cc or gcc) on PATH: mypyc cannot build anything here")
    csv = SAMPLE if args.quick or not FULL.is_file() else FULL
    orders_n = 2_000 if args.quick else 20_000
    with tempfile.TemporaryDirectory(prefix="bench-compiled-") as tmp:
        if not args.json:
            print(f"compiling {len(MODULES)} modules with mypyc ...", flush=True)
        build(Path(tmp))
        runs: dict[str, list[dict[str, Any]]] = {"pure": [], "compiled": []}
        for _ in range(2):
            runs["pure"].append(run_child(csv, args.repeat, orders_n, None))
            runs["compiled"].append(run_child(csv, args.repeat, orders_n, Path(tmp)))
    loaded = {name: {r["kernel_file"] for r in rs} for name, rs in runs.items()}
    if loaded["compiled"] == loaded["pure"]:
        raise SystemExit(f"the compiled run loaded the pure kernel ({loaded['compiled']})")
    results = {json.dumps(r["result"]) for rs in runs.values() for r in rs}
    figures = [
        ("SMA 10/30 in process, bars/s (CPU time)", "bars_per_s"),
        ("one order through kernel + sim exchange, µs CPU", "order_us"),
        ("the kernel alone (a broker that fills at once), µs CPU", "kernel_alone_us"),
    ]
    out = {
        "data": csv.name,
        "modules": MODULES,
        "figures": {
            key: {name: [v for r in rs for v in r[key]] for name, rs in runs.items()}
            for _, key in figures
        },
        "same_results": len(results) == 1,
        "result": runs["pure"][0]["result"],
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{csv.name}: pure Python against {len(MODULES)} modules compiled, median (min..max)")
    for label, key in figures:
        pure, comp = _median(runs["pure"], key), _median(runs["compiled"], key)
        ratio = comp / pure if key == "bars_per_s" else pure / comp
        print(f"  {label}")
        print(f"    pure {_spread(runs['pure'], key)}   compiled {_spread(runs['compiled'], key)}")
        print(f"    {ratio:.2f}x faster compiled")
    trips, equity, fees = out["result"]
    print(
        f"  same round trips, final equity and fees: {out['same_results']} "
        f"({trips} trips, equity {equity}, fees {fees})"
    )
    print(f"  load average {out['load_average'][0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
