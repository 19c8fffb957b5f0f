"""``gpt-trader backtest --entry``: limit and post-only entries in the backtest ([execution])."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import Liquidity
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import BacktestSpec, build_config, run_backtest
from gpt_trader_research.specs import ComponentArg, parse_component
from research_support import cli

SMA = (ComponentArg("sma_cross", {"fast": "10", "slow": "30"}),)


def spec(data: Path, entry: str | None, **kw: object) -> BacktestSpec:
    return BacktestSpec(
        data,
        "BTC-USD",
        signals=SMA,
        fee_bps=None,
        entry=None if entry is None else parse_component(entry, "entry"),
        **kw,  # type: ignore[arg-type]
    )


def test_entry_maps_to_the_execution_section(sample: Path) -> None:
    config = build_config(spec(sample, "limit:offset_bps=5,timeout=5m,reprice=edit"))
    execution = config.execution
    assert (execution.entry, execution.offset_bps, execution.timeout_s, execution.reprice) == (
        "limit",
        Decimal(5),
        300.0,
        "edit",
    )
    assert build_config(spec(sample, None)).execution.entry == "market"
    assert build_config(spec(sample, "market")).execution.entry == "market"


@pytest.mark.parametrize("entry", ["limit:offset_bps=5,timeout=5m", "post_only:timeout=3m"])
def test_vectorised_and_event_paths_agree(sample: Path, pm: PluginManager, entry: str) -> None:
    vector = run_backtest(spec(sample, entry), pm)
    events = run_backtest(spec(sample, entry), pm, vectorise=False)
    assert vector.path == "vectorised"
    assert events.path == "events"
    assert vector.fills  # limit entries do fill on the sample
    assert [(f.ts, f.side, f.price, f.size, f.fee, f.liquidity) for f in events.fills] == [
        (f.ts, f.side, f.price, f.size, f.fee, f.liquidity) for f in vector.fills
    ]
    assert events.final_equity == vector.final_equity


def test_post_only_entries_never_take_liquidity(sample: Path, pm: PluginManager) -> None:
    result = run_backtest(spec(sample, "post_only:offset_bps=2,timeout=5m,reprice=edit"), pm)
    entries = [f for f in result.fills if f.side.value == "BUY"]  # long only: buys enter
    assert entries
    assert {f.liquidity for f in entries} == {Liquidity.MAKER}
    market = run_backtest(spec(sample, None), pm)
    assert {f.liquidity for f in market.fills} == {Liquidity.TAKER}
    assert result.fees < market.fees


def touching_bars(path: Path) -> Path:
    """sma_cross(2, 3) goes LONG on bar 7's close (97); bar 8 only touches 97, bar 9 stays
    above it, bar 10 trades through it."""
    closes = [100, 99, 98, 97, 96, 95, 96, 97]
    rows = [(c, c + 0.5, c - 0.5, c) for c in closes]
    rows += [(97.5, 99, 97, 98.6), (98.6, 99, 98.2, 98.8), (98.8, 99, 96.9, 97.5)]
    t0 = 1747699200
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{t0 + 60 * i},{o},{h},{lo},{c},10" for i, (o, h, lo, c) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("entry", "fill_bar"),
    [("limit:timeout=1h", 10), ("limit:timeout=1h,fill_on_touch=true", 8)],
)
def test_a_limit_entry_needs_a_trade_through_unless_a_touch_is_enough(
    tmp_path: Path, pm: PluginManager, entry: str, fill_bar: int
) -> None:
    bars = touching_bars(tmp_path / "touch.csv")
    signal = (ComponentArg("sma_cross", {"fast": "2", "slow": "3"}),)
    result = run_backtest(
        BacktestSpec(bars, "BTC-USD", signals=signal, entry=parse_component(entry, "entry")), pm
    )
    (fill,) = result.fills
    assert (fill.price, fill.liquidity) == (Decimal("97.00"), Liquidity.MAKER)
    assert fill.ts == result.bars.ts[fill_bar] + 60 * 1_000_000_000  # inside that bar: at its close


def test_cli_entry_json(sample: Path) -> None:
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD",
        "--signal", "sma_cross:fast=10,slow=30", "--entry", "limit:offset_bps=5,timeout=5m",
        "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["fills"] > 0
    assert out["orders"] > out["fills"] / 2  # entries and exits, some entries repriced


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("iceberg", "execution.entry"),
        ("limit:offset_bps=-1", "execution.offset_bps"),
        ("limit:timeout=0", "execution.timeout_s"),
        ("limit:reprice=twap", "execution.reprice"),
        ("limit:colour=red", "unknown parameter 'colour'"),
        ("post_only:timeout=soon", "invalid duration 'soon'"),
    ],
)
def test_bad_entry_is_one_line_exit_2(sample: Path, entry: str, needle: str) -> None:
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD",
        "--signal", "sma_cross", "--entry", entry,
    )  # fmt: skip
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""
