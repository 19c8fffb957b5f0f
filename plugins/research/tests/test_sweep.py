"""The vectorised SMA-cross sweep: its emissions are the signal's, its best pairs' figures
are the kernel's (round trips, fees and final equity, exactly), and ``gpt-trader sweep``
reports them (one line and exit 2 on a bad grid)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import Action
from gpt_trader.domain.bars import NO_SIGNAL
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader.sim.products import default_products
from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
from gpt_trader_research.specs import ComponentArg
from gpt_trader_research.sweep import (
    Costs,
    _emissions,
    _pair_events,
    grid,
    parse_range,
    run_sweep,
    sweep,
)
from gpt_trader_strategies.signals import SmaCross
from research_support import cli

SYMBOL = "BTC-USD"


def _signal_emissions(bars: object, fast: int, slow: int) -> list[tuple[int, int]]:
    """What the signal emits, as the sweep counts it: +1 LONG, -1 FLAT, a first FLAT
    (nothing to close) left out."""
    out = SmaCross(SYMBOL, fast, slow).compute(bars)  # type: ignore[arg-type]
    events = [(i, 1 if v == Action.LONG else -1) for i, v in enumerate(out) if v != NO_SIGNAL]
    return events[1:] if events and events[0][1] == -1 else events


def test_sweep_emissions_are_the_signals(sample: Path) -> None:
    import numpy as np

    bars = load_series(sample, SYMBOL)
    pairs = grid(parse_range("--fast", "1:12:1"), parse_range("--slow", "2:40:3"))
    events = _emissions(np.asarray(bars.close, dtype=np.float64), pairs)
    for row, (fast, slow) in enumerate(pairs):
        assert _pair_events(events, row) == _signal_emissions(bars, fast, slow), (fast, slow)


def _check_top(data: Path, pm: PluginManager, fasts: str, slows: str, top: int) -> None:
    bars = load_series(data, SYMBOL)
    product = default_products([SYMBOL], Registry(pm).catalogues())[SYMBOL]
    cash, fee_bps = Decimal(100_000), Decimal(60)
    pairs = grid(parse_range("--fast", fasts), parse_range("--slow", slows))
    best, _ = sweep(bars, product, pairs, Costs(cash, fee_bps / 10_000), top=top)
    assert len(best) == top
    equities = [r.final_equity for r in best]
    assert equities == sorted(equities, reverse=True)
    spec = BacktestSpec(data=data, symbol=SYMBOL, cash=cash, fee_bps=fee_bps)
    for r in best:
        signal = ComponentArg("sma_cross", {"fast": r.fast, "slow": r.slow})
        run = run_backtest(replace(spec, signals=(signal,)), pm, series=bars)
        assert r.trades == len(run.trips) > 0, (r.fast, r.slow)
        # Exact, not only to the cent: the sweep books each trade as the kernel does.
        assert r.final_equity == run.final_equity, (r.fast, r.slow)
        assert r.fees == run.fees, (r.fast, r.slow)


def test_sweep_top_results_are_the_kernels(sample: Path, pm: PluginManager) -> None:
    _check_top(sample, pm, "2:20:2", "10:90:10", 6)


def test_sweep_top_results_are_the_kernels_on_the_shared_file(
    full: Path, pm: PluginManager
) -> None:
    _check_top(full, pm, "5:40:5", "50:200:50", 2)


def test_run_sweep_rechecks_through_the_kernel(sample: Path, pm: PluginManager) -> None:
    pairs = grid([3, 5, 8], [13, 21, 34])
    result = run_sweep(sample, SYMBOL, pairs, top=3, fee_bps=Decimal(10), pm=pm)
    out = result.to_json()
    assert out["pairs"] == 9
    assert out["fee_bps"] == "10"
    assert out["all_match_kernel"] is True
    for row in out["top"]:
        assert row["matches_kernel"] is True
        assert row["kernel"]["final_equity"] == row["final_equity"]
        assert row["kernel"]["trades"] == row["trades"]


def test_sweep_cli_json(sample: Path) -> None:
    done = cli(
        "sweep",
        "--data",
        str(sample),
        "--symbol",
        SYMBOL,
        "--fast",
        "5,10",
        "--slow",
        "20:40:10",
        "--top",
        "2",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["pairs"] == 6
    assert out["bars"] == 3000
    assert out["all_match_kernel"] is True
    assert len(out["top"]) == 2
    assert Decimal(out["top"][0]["final_equity"]) >= Decimal(out["top"][1]["final_equity"])
    assert all(r["matches_kernel"] for r in out["top"])


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--fast", "20:5", "--fast '20:5': expected START:STOP[:STEP]"),
        ("--slow", "10:x", "--slow '10:x': expected START:STOP[:STEP]"),
        ("--fast", "0:3", "periods must be at least 1 bar"),
        ("--fast", "300", "the grid has no pair with fast < slow"),
    ],
)
def test_sweep_cli_bad_grid_is_one_line(sample: Path, flag: str, value: str, says: str) -> None:
    done = cli("sweep", "--data", str(sample), "--symbol", SYMBOL, flag, value)
    assert done.returncode == 2
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
