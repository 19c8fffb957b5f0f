"""The portfolio's vectorised replay gives what the every-bar event path gives: the same
fills, fees, equity, guard trips and warnings, trading-state changes and report, with far
fewer bars through the kernel; on the shipped sample and (when ``../shared`` is present)
on the shared BTC file. Anything whose decisions may read a flat product's price keeps the
event path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import BacktestSpec
from gpt_trader_research.portfolio import PortfolioResult, PortfolioSpec, run_portfolio
from research_support import REPO, SAMPLE, write_universe

DEV = REPO / "config" / "profiles" / "dev.toml"


def _guarded(tmp: Path, daily_loss: str, drawdown_pct: str) -> Path:
    """The dev profile with its daily loss and drawdown limits tightened until they warn
    and trip within the data."""
    text = DEV.read_text(encoding="utf-8")
    text = text.replace('limit = "1000"', f'limit = "{daily_loss}"')
    text = text.replace('pct = "10"', f'pct = "{drawdown_pct}"')
    path = tmp / "guarded.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _seq(client_order_id: str) -> str:
    """An order's number in its run (the id's prefix is the run's, different each run)."""
    return client_order_id.rsplit("-", 1)[-1]


def _everything(r: PortfolioResult) -> tuple[Any, ...]:
    """What the run decided and reported, without how it got there (path, time)."""
    out = r.to_json()
    for key in ("path", "kernel_bars", "elapsed_s", "bars_per_s"):
        del out[key]
    rec = r.recorder
    return (
        out,
        [
            (e.ts, _seq(f.client_order_id), replace(f, client_order_id="", order_id=""))
            for e in rec.fills
            for f in [e.fill]
        ],
        [(e.ts, e.result.guard, e.result.severity, e.result.message) for e in rec.trips],
        [(e.ts, e.old, e.new, e.reason) for e in rec.state_changes],
        [
            (e.ts, _seq(e.request.client_order_id), replace(e.request, client_order_id=""))
            for e in rec.intents
        ],
        r.final_equity,
        r.fees,
        {k: v for k, v in r.summary.items() if k not in ("run_id", "state_dir")},
    )


def _both_paths(
    data: Path, profile: str, pm: PluginManager
) -> tuple[PortfolioResult, PortfolioResult]:
    spec = PortfolioSpec(BacktestSpec(data, "", profile=profile), (data,))
    events = run_portfolio(spec, pm, vectorise=False)
    fast = run_portfolio(spec, pm)
    assert (events.path, fast.path) == ("events", "vectorised")
    assert events.kernel_bars == events.bars
    assert fast.kernel_bars < events.bars / 5
    assert _everything(fast) == _everything(events)
    return events, fast


@pytest.fixture(scope="module")
def sample_universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_universe(SAMPLE, tmp_path_factory.mktemp("universe"))


def test_dev_profile_fast_path_is_the_event_path(sample_universe: Path, pm: PluginManager) -> None:
    events, _ = _both_paths(sample_universe, "dev", pm)
    assert events.stats["trades"] > 500


def test_guard_warnings_and_trips_are_the_event_paths(
    sample_universe: Path, pm: PluginManager, tmp_path: Path
) -> None:
    profile = _guarded(tmp_path, daily_loss="40", drawdown_pct="0.05")
    events, _ = _both_paths(sample_universe, str(profile), pm)
    seen = {(t.result.guard, t.result.severity.name) for t in events.recorder.trips}
    assert seen == {
        ("daily_loss", "WARN"),
        ("daily_loss", "CRITICAL"),
        ("max_drawdown", "WARN"),
    }
    assert [s.new.name for s in events.recorder.state_changes] == ["REDUCE_ONLY"]


def test_a_guard_that_reads_other_products_keeps_the_event_path(
    sample_universe: Path, pm: PluginManager, tmp_path: Path
) -> None:
    text = DEV.read_text(encoding="utf-8") + '\n[[guards]]\nuse = "stale_data"\nmax_age_s = 600\n'
    profile = tmp_path / "stale.toml"
    profile.write_text(text, encoding="utf-8")
    spec = PortfolioSpec(
        BacktestSpec(sample_universe, "", profile=str(profile)), (sample_universe,)
    )
    result = run_portfolio(spec, pm)
    assert result.path == "events"
    assert result.kernel_bars == result.bars


def test_on_the_shared_file(full: Path, pm: PluginManager, tmp_path: Path) -> None:
    data = write_universe(full, tmp_path / "dev", bars=10_000)
    events, _ = _both_paths(data, "dev", pm)
    assert events.stats["trades"] > 1_000
    guarded = _guarded(tmp_path, daily_loss="150", drawdown_pct="1")
    short = write_universe(full, tmp_path / "guarded", bars=6_000)
    events, _ = _both_paths(short, str(guarded), pm)
    assert any(t.result.severity.name == "CRITICAL" for t in events.recorder.trips)
