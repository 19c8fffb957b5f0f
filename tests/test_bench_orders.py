"""``bench/orders.py`` runs as its README says and prints the rows contract of issue #16
(no speed is asserted): one row for the order cost, eight for tick -> order latency (with
and without the store writer, the ticks back to back and 1 ms apart)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "orders.py"


def test_the_orders_bench_emits_the_rows_contract() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeat", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert len(rows) == 9
    assert rows[0]["figure"].startswith("cost of one order through kernel + sim exchange")
    for writer in ("store writer running", "no store writer"):
        assert sum(f"({writer})" in r["figure"] for r in rows) == 2
        assert sum(f"({writer}, ticks 1 ms apart)" in r["figure"] for r in rows) == 2
    for row in rows:
        assert set(row) == {"figure", "unit", "ours", "peer", "peer_values", "aim"}
        assert row["unit"].startswith("µs")
        assert len(row["ours"]) == 2
        assert all(isinstance(v, float) and v > 0 for v in row["ours"])
        assert row["peer"] is None
        assert row["peer_values"] is None
