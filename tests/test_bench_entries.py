"""``bench/entries.py`` runs as its README says and its figures hold together (no speed is
asserted): market entries all fill as takers, limit entries reprice, post-only entries
only make liquidity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "entries.py"


def test_the_entries_bench_prints_consistent_figures() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    cases = json.loads(proc.stdout)["cases"]
    market = cases["market"]
    assert (market["fill_rate"], market["reprices"], market["maker_share"]) == (1.0, 0, 0.0)
    for entry, r in cases.items():
        assert 0 < r["filled"] <= r["entries"], entry
        assert r["bars"] == 3000
        if entry.startswith("post_only"):
            assert r["maker_share"] == 1.0, entry
        if entry != "market":
            assert r["reprices"] > 0, entry
    edit = cases["limit:offset_bps=5,timeout=5m,reprice=edit"]
    assert edit["edits"] > 0
