"""``bench/portfolio.py`` and ``bench/optimize.py`` run on the shipped sample as the README
says and print issue 16's rows contract (no speed is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_json(script: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    assert out["rows"], script
    for row in out["rows"]:
        assert set(row) == {"figure", "unit", "ours", "peer", "peer_values", "aim"}
        assert isinstance(row["figure"], str)
        assert isinstance(row["unit"], str)
        assert len(row["ours"]) == 1
        assert all(x > 0 for x in row["ours"])
        assert row["peer"] is None
        assert row["peer_values"] is None
        assert row["aim"].startswith(">=")
    return out


@pytest.mark.parametrize("script", ["portfolio.py", "optimize.py"])
def test_the_bench_prints_the_rows_contract(script: str) -> None:
    out = bench_json(script)
    if script == "portfolio.py":
        assert (out["bars"], out["path"]) == (30_000, "vectorised")
        assert 0 < out["kernel_bars"] < out["bars"]
        assert out["trades"] > 0
    else:
        assert out["same_trials"] is True
        assert out["trials"] == 16
