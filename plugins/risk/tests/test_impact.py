"""``impact_cost`` where there is no order book (the sim, backtests): a square-root
estimate from the prices it has seen and the trader's ``daily_volume`` blocks an oversized
order; where it cannot judge, it says so at run start, on each order and in ``preflight``."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import Severity
from gpt_trader.testing import sample_csv
from risk_support import REPO_ROOT, T0, FakeState, build_guard, req

pytest.importorskip("gpt_trader_research", reason="the backtest command is the research plugin's")

SIGNALS = '[[signals]]\nuse = "sma_cross"\nfast = 10\nslow = 30\n'


def gpt_trader(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, as a user runs it."""
    cmd = [sys.executable, "-m", "gpt_trader", *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def profile(tmp_path: Path, guard: str, mode: str = "sim") -> Path:
    path = tmp_path / "impact.toml"
    path.write_text(
        f'[profile]\nname = "impact"\nmode = "{mode}"\nuniverse = ["BTC-USD"]\n'
        f'{SIGNALS}[[guards]]\nuse = "impact_cost"\n{guard}'
    )
    return path


def backtest(path: Path, cash: str) -> tuple[dict[str, Any], str]:
    proc = gpt_trader(
        "backtest", "--data", str(sample_csv()), "--symbol", "BTC-USD", "--profile", str(path),
        "--cash", cash, "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_a_backtest_order_too_large_for_the_market_is_blocked_by_the_estimate(
    tmp_path: Path,
) -> None:
    # 50 BTC a day: an all-in 100,000 USD order (~0.94 BTC) would move BTC ~20 bps and more.
    path = profile(tmp_path, 'max_bps = "5"\ndaily_volume = {"BTC-USD" = "50"}\n')
    big, _ = backtest(path, "100000")
    assert big["trades"] == []
    assert big["rejections"]
    for r in big["rejections"]:
        assert r["source"] == "guard:impact_cost"
        assert "estimated impact" in r["reason"]
        assert "exceeds max 5 bps" in r["reason"]
        assert "no order book" in r["reason"]
        assert "sqrt(size / daily volume 50)" in r["reason"]
    trip = big["guard_trips"][0]
    assert (trip["guard"], trip["stage"], trip["time"]) == (
        "impact_cost",
        "pre_trade",
        big["rejections"][0]["time"],
    )
    assert D(trip["value"]) > 5
    # The same strategy with 100 USD trades every signal: ~0.001 BTC moves nothing.
    small, _ = backtest(path, "100")
    assert len(small["trades"]) == 54
    assert small["rejections"] == []


def test_what_it_cannot_judge_is_said_at_run_start_and_on_every_order(tmp_path: Path) -> None:
    out, stderr = backtest(profile(tmp_path, ""), "100000")
    assert out["trades"]  # missing_book = "warn": the orders go through...
    warnings = [w for w in out["guard_warnings"] if w["guard"] == "impact_cost"]
    start, *orders = warnings
    # ...but not silently: once at the first evaluation (the run's first minute) ...
    assert (start["stage"], start["symbol"], start["time"]) == (
        "runtime",
        "BTC-USD",
        "2025-05-20T00:01:00Z",
    )
    assert "cannot judge the market impact of orders on BTC-USD" in start["message"]
    assert "no daily_volume" in start["message"]
    assert [line for line in stderr.splitlines() if "cannot judge" in line] == [
        "impact_cost " + start["message"]
    ]
    # ... and on every entry it let through.
    entries = [t["entry_time"] for t in out["trades"]]
    assert [w["time"] for w in orders] == entries
    for w in orders:
        assert w["stage"] == "pre_trade"
        assert w["message"] == (
            "no book for BTC-USD and no daily_volume to estimate from: impact not checked (passed)"
        )


def test_preflight_says_which_symbols_it_cannot_judge(tmp_path: Path) -> None:
    pytest.importorskip("gpt_trader_ops", reason="preflight is the ops plugin's")
    state = tmp_path / "state"
    proc = gpt_trader(
        "preflight", "--profile", str(profile(tmp_path, "")), "--state-dir", str(state), "--json"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)}
    assert not checks["caveats"]["ok"]
    assert checks["caveats"]["detail"] == (
        "impact_cost cannot judge orders on BTC-USD: a sim run has no order book and no "
        "daily_volume is set to estimate from; they pass unchecked, with a WARN each"
    )
    assert [name for name, c in checks.items() if not c["ok"]] == ["caveats"]
    # Told the symbol's daily volume, it can judge: nothing to report.
    judged = profile(tmp_path, 'daily_volume = {"*" = "20000"}\n')
    proc = gpt_trader("preflight", "--profile", str(judged), "--state-dir", str(state), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)}
    assert checks["caveats"] == {
        "check": "caveats",
        "ok": True,
        "detail": "every component can do its job in sim mode",
    }


def test_config_show_says_which_symbols_it_cannot_judge(tmp_path: Path) -> None:
    proc = gpt_trader("config", "show", "--profile", str(profile(tmp_path, "")), "--json")
    assert proc.returncode == 0, proc.stderr
    [caveat] = json.loads(proc.stdout)["_caveats"]
    assert caveat.startswith("impact_cost cannot judge orders on BTC-USD")
    human = gpt_trader("config", "show", "--profile", str(profile(tmp_path, "")))
    assert f"caveat: {caveat}" in " ".join(human.stderr.split())


def test_a_live_profile_relies_on_the_feeds_book() -> None:
    from gpt_trader_risk.impact import ImpactCostParams

    params = ImpactCostParams()
    assert params.caveats(["BTC-USD"], "live") == []
    assert params.caveats(["BTC-USD", "ETH-USD"], "sim") == [
        "impact_cost cannot judge orders on BTC-USD, ETH-USD: a sim run has no order "
        "book and no daily_volume is set to estimate from; they pass unchecked, with a WARN each"
    ]
    strict = ImpactCostParams(missing_book="block", daily_volume={"ETH-USD": "1000"})
    assert strict.caveats(["BTC-USD", "ETH-USD"], "sim") == [
        "impact_cost cannot judge orders on BTC-USD: a sim run has no order book and no "
        "daily_volume is set to estimate from; they are blocked (missing_book = 'block')"
    ]


def test_the_estimate_is_the_square_root_law_over_the_prices_seen(state: FakeState) -> None:
    guard = build_guard("impact_cost", max_bps="30", daily_volume="100", min_prices=3)
    closes = ["100", "101", "99", "100"]
    for minute, close in enumerate(closes):
        state.now = state.market_ts["BTC-USD"] = T0 + minute * 60_000_000_000
        state.prices["BTC-USD"] = D(close)
        guard.evaluate(state)
    logs = [math.log(float(c)) for c in closes]
    variance = sum((b - a) ** 2 for a, b in itertools.pairwise(logs))
    sigma = math.sqrt(variance / 180 * 86_400)  # three minutes of returns, per day
    result = guard.check(req(size="4"), state)
    expected = sigma * math.sqrt(4 / 100) * 10_000
    assert float(result.value) == pytest.approx(expected, abs=0.001)
    assert result.severity is Severity.RECOVERABLE  # ~54 % a day: ~1070 bps for 4 of 100
    # A limit order costs at most the distance of its limit from the last price (100).
    assert guard.check(req(size="4", limit="100.2"), state).value == D("20.000")
    assert guard.check(req(size="4", limit="99"), state).value == 0  # rests: takes nothing


def test_too_few_prices_to_estimate_is_not_a_pass(state: FakeState) -> None:
    guard = build_guard("impact_cost", daily_volume="100", missing_book="block")
    state.prices["BTC-USD"] = D(100)
    state.market_ts["BTC-USD"] = T0
    result = guard.check(req(), state)
    assert result.severity is Severity.RECOVERABLE
    assert result.message == (
        "no book for BTC-USD and 1 of 30 prices seen to measure its volatility: "
        "impact not checked (blocked)"
    )
