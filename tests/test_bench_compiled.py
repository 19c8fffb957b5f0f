"""``bench/compiled.py``'s child, the part that measures, on the pure-Python core (the
compile itself takes a minute of mypyc and a C compiler: run the bench for it). No speed is
asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench" / "compiled.py"
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"


def test_the_child_reports_its_kernel_figures_and_results() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--child", str(SAMPLE), "2", "200"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["kernel_file"] == "kernel.py"  # the pure core: nothing on PYTHONPATH
    for key in ("bars_per_s", "order_us", "kernel_alone_us"):
        assert len(out[key]) == 2
        assert all(isinstance(v, float) and v > 0 for v in out[key])
    trips, equity, fees = out["result"]
    assert trips > 0
    assert Decimal(equity).as_tuple().exponent == -2  # on cents
    assert Decimal(fees).as_tuple().exponent == -2
