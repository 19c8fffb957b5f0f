"""``status`` says when the equity it shows is a simulated market's time ahead of this
machine's clock (the dev profile's minute bars come a second apart), and stays quiet for a
run on the wall clock. Through a real store file and the real ``status`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gpt_trader.cli.status_cmd import CLOCK_AHEAD_NS
from gpt_trader.store import Store

HOUR_NS = 3600 * 1_000_000_000
LABEL = "the simulated market's time: ahead of this machine's clock"


def _finished_run(state: Path, stopped_ts: int) -> None:
    store = Store(state / "gpt_trader.db")
    try:
        store.start_run("r1", "dev", "sim", stopped_ts - HOUR_NS)
        store.finish_run("r1", stopped_ts, "signal", {"equity": "99982.25"})
    finally:
        store.close()


def _status(state: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "gpt_trader", "status", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    ("ahead_ns", "ahead"), [(0, False), (CLOCK_AHEAD_NS // 2, False), (HOUR_NS, True)]
)
def test_the_equity_says_whose_clock_it_is_on(tmp_path: Path, ahead_ns: int, ahead: bool) -> None:
    _finished_run(tmp_path, time.time_ns() + ahead_ns)
    equity = json.loads(_status(tmp_path, "--json"))["equity"]
    assert equity["amount"] == "99982.25"
    assert equity["clock_ahead"] is ahead
    text = _status(tmp_path)
    assert "99982.25 (as of 20" in text
    assert (LABEL in " ".join(text.split())) is ahead
