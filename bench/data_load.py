"""Load time of the shared 130k-bar BTC file: the CSV parser vs the Parquet catalogue.

    uv run python bench/data_load.py [--repeat N] [--json]

"csv" is ``gpt_trader.sim.csvfeed.parse_csv`` (what ``backtest --data FILE.csv`` runs);
"parquet" is ``gpt_trader_research.catalog.read_bars`` on the same bars imported into a
temporary catalogue (what ``backtest --data catalog:BTC-USD@1m`` runs). Both give the same
BarSeries (floats for the maths, the exact source text for the Decimals), which is checked.
Medians of ``--repeat`` runs; without ``../shared/data`` it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not FULL.is_file():
        print(f"skipped: {FULL} is not present (../shared/data)")
        return
    from gpt_trader.sim.csvfeed import parse_csv
    from gpt_trader_research.catalog import partition_path, read_bars
    from gpt_trader_research.catalog_import import import_file

    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        root = Path(tmp)
        import_file(FULL, "BTC-USD", root)
        csv_series = parse_csv(FULL, "BTC-USD")
        pq_series = read_bars(root, "BTC-USD", "1m")
        if pq_series.ts != csv_series.ts or pq_series.raw != csv_series.raw:
            raise SystemExit("the catalogue's bars differ from the CSV's")
        csv_s = _median_s(lambda: parse_csv(FULL, "BTC-USD"), args.repeat)
        pq_s = _median_s(lambda: read_bars(root, "BTC-USD", "1m"), args.repeat)
        pq_bytes = partition_path(root, "BTC-USD", 60).stat().st_size
    out = {
        "bars": len(csv_series),
        "csv_s": round(csv_s, 4),
        "parquet_s": round(pq_s, 4),
        "speedup": round(csv_s / pq_s, 2),
        "csv_bytes": FULL.stat().st_size,
        "parquet_bytes": pq_bytes,
        "repeat": args.repeat,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['bars']:,} bars, median of {args.repeat}")
    print(f"  csv      {csv_s * 1000:8.1f} ms   {out['csv_bytes']:>12,} bytes")
    print(f"  parquet  {pq_s * 1000:8.1f} ms   {pq_bytes:>12,} bytes   ({out['speedup']}x)")


if __name__ == "__main__":
    main()
