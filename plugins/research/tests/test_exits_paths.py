"""Time-keyed exits (``max_hold``, ``roi``) close on the same bar, at the same price, for the
same reason on both replay paths: the vectorised one (precomputed signals, the kernel fed
every bar while a position is open) and the event one (every bar through ``on_market`` and
the guard timer). The timer once ran before the bar at its time: a maximum hold reached at
a bar's close was then sent before the exchange had seen that bar, and filled at its open,
one bar ahead of the vectorised path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import load_series, run_backtest
from research_support import sma_spec

EXITS: dict[str, dict[str, Any]] = {
    "max_hold_2m": {"max_hold": "2m"},
    "max_hold_7m": {"max_hold": "7m"},
    "roi": {"roi": {"0": "1", "2": "0.05", "5": "0"}},
    "roi_and_max_hold": {"roi": {"3": "0.02"}, "max_hold": "10m"},
}


def _trips(data: Path, pm: PluginManager, exits: dict[str, Any]) -> dict[str, list[tuple]]:
    spec = sma_spec(data, Decimal(100_000), Decimal(10), **exits)
    series = load_series(data, "BTC-USD")
    out = {}
    for vectorise in (True, False):
        result = run_backtest(spec, pm, series=series, vectorise=vectorise)
        out[result.path] = [
            (t.entry_bar, t.entry_price, t.exit_bar, t.exit_price, t.exit_reason)
            for t in result.trips
        ]
    return out


@pytest.mark.parametrize("name", sorted(EXITS))
def test_sample_time_exits_agree_between_the_paths(
    sample: Path, pm: PluginManager, name: str
) -> None:
    trips = _trips(sample, pm, EXITS[name])
    assert trips["vectorised"] == trips["events"]
    reasons = {t[-1] for t in trips["events"]}
    assert reasons & {"max_hold", "roi"}, reasons  # the exits under test did close trades


@pytest.mark.parametrize("name", ["max_hold_2m", "roi"])
def test_full_file_time_exits_agree_between_the_paths(
    full: Path, pm: PluginManager, name: str
) -> None:
    trips = _trips(full, pm, EXITS[name])
    assert trips["vectorised"] == trips["events"]
    assert len(trips["events"]) > 1000
