"""``bench/backtest.py --quick`` runs as its README says and prints issue 16's rows in the
contract every bench script shares (no speed is asserted): one value per run on our side,
the peer's values beside them when the peer is installed, a note for a missing script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "backtest.py"
KEYS = {"figure", "unit", "ours", "peer", "peer_values", "aim"}


def test_the_backtest_bench_prints_the_rows_of_the_table() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = out["rows"]
    assert out["repeat"] == 1
    for row in rows:
        assert row.keys() >= KEYS, row
        assert row["ours"], row
        assert all(isinstance(v, float) for v in row["ours"]), row
        if row["peer_values"] is not None:
            assert row["peer"], row
            assert all(isinstance(v, float) for v in row["peer_values"]), row
    sma = [r for r in rows if r["figure"].startswith("SMA 10/30 backtest, end to end")]
    assert [(r["unit"], len(r["ours"])) for r in sma] == [("bars/s", 1)] * 2
    assert sma[0]["peer"].startswith("backtesting.py")  # a dev dependency
    million = [r for r in rows if r["figure"].startswith("a million 1m bars")]
    assert [(r["unit"], len(r["ours"])) for r in million] == [("s", 1)] * 2
    assert million[0]["peer_values"] is not None
    # each sibling script gave its rows, or a note says why not
    for script in ("orders", "portfolio", "sweep", "optimize", "startup"):
        source = f"bench/{script}.py"
        given = any(r.get("source") == source for r in rows)
        noted = any(note.startswith(f"{script}: ") for note in out["notes"])
        assert given != noted, (script, out["notes"])
