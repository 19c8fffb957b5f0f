"""The strategy library through ``gpt-trader backtest`` as a user runs it (a subprocess on
the shipped sample): new signals, rules and market filters in a profile; strengths reach
the votes on both replay paths; a bad rule is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_helpers import REPO, gpt_trader

SAMPLE_PATH = REPO / "tests" / "data" / "btcusd_1m_sample.csv"

SIGNALS = """
[[signals]]
use = "bollinger"
period = 30

[[signals]]
use = "rsi"

[[signals]]
use = "rule"
name = "dip"
long = "rsi(14) < 35 and close > sma(240)"
flat = "rsi(14) > 60"
strength = "(50 - rsi(14)) / 20"
"""


def backtest(tmp_path: Path, profile: str, *flags: str) -> dict[str, Any]:
    path = tmp_path / "p.toml"
    path.write_text(f'[profile]\nmode = "sim"\nuniverse = ["BTC-USD"]\n{profile}')
    proc = gpt_trader(
        "backtest", "--profile", str(path), "--data", str(SAMPLE_PATH), "--symbol", "BTC-USD",
        "--json", *flags,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def trades(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(t["entry_time"], t["exit_time"], t["size"]) for t in result["trades"]]


def test_confidence_uses_strengths_on_both_replay_paths(tmp_path: Path) -> None:
    voter = '[voter]\nuse = "confidence"\nthreshold = 0.5\n'
    fast = backtest(tmp_path, SIGNALS + voter)
    slow = backtest(tmp_path, SIGNALS + voter, "--events")
    assert (fast["path"], slow["path"]) == ("vectorised", "events")
    assert trades(fast) == trades(slow)
    assert fast["final_equity"] == slow["final_equity"]
    weighted = backtest(tmp_path, SIGNALS + '[voter]\nuse = "weighted"\nthreshold = 0.5\n')
    assert len(fast["trades"]) > 0
    assert trades(weighted) != trades(fast)  # strengths, not just counts, decide


def test_market_filters_cut_entries(tmp_path: Path) -> None:
    profile = SIGNALS + '[voter]\nuse = "majority"\n'
    plain = backtest(tmp_path, profile)
    filters = """
[[filters]]
use = "trend"
period = 120
min_adx = 15

[[filters]]
use = "volume"
relative = 0.8

[[filters]]
use = "volatility"
max_bps = 12

[[filters]]
use = "spread"
max_bps = 15

[[filters]]
use = "momentum"
period = 5

[[filters]]
use = "hours"
days = ["mon", "tue", "wed", "thu", "fri"]
"""
    filtered = backtest(tmp_path, profile + filters)
    assert filtered["path"] == "events"  # filters on market data see every bar
    assert 0 < len(filtered["trades"]) < len(plain["trades"])
    assert filtered["component_failures"] == []


def test_every_new_signal_backtests_from_the_command_line(tmp_path: Path) -> None:
    for spec in ("donchian", "atr_channel", "vwap:entry_bps=10", "zscore", "stochastic", "adx"):
        proc = gpt_trader(
            "backtest", "--data", str(SAMPLE_PATH), "--symbol", "BTC-USD", "--signal", spec,
            "--json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["path"] == "vectorised"
        assert len(result["trades"]) > 0, spec


def test_a_bad_rule_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[profile]\nmode = "sim"\nuniverse = ["BTC-USD"]\n[[signals]]\nuse = "rule"\n'
        'long = "rsi(14) < 30 and clsoe > sma(200)"\nflat = "rsi(14) > 55"\n'
    )
    for args in (
        ("config", "show", "--profile", str(path)),
        ("backtest", "--profile", str(path), "--data", str(SAMPLE_PATH), "--symbol", "BTC-USD"),
    ):
        proc = gpt_trader(*args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "signal 'rule': long: unknown name 'clsoe' at column 18" in lines[0]
        assert "Traceback" not in proc.stderr
