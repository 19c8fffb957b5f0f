"""Helpers shared by the research tests (imported by name: the tests folder is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
DATA = Path(__file__).resolve().parent / "data"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``gpt-trader ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
