"""``[exits]`` from the CLI: bad values are one line and exit 2 (config show, run, backtest),
with nothing placed; a backtest reports each trade's exit reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import REPO, gpt_trader

SAMPLE_CSV = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
BACKTEST = ("backtest", "--data", str(SAMPLE_CSV), "--symbol", "BTC-USD", "--signal", "sma_cross")


@pytest.mark.parametrize(
    ("exits", "message"),
    [
        ("stop_loss_pct = 100\ntake_profit_pct = 4", "exits.stop_loss_pct: Input should be less than 100"),
        ("stop_loss_pct = 0\ntake_profit_pct = 4", "exits.stop_loss_pct: Input should be greater than 0"),
        ("stop_loss_pct = 2\ntake_profit_pct = -1", "exits.take_profit_pct: Input should be greater than 0"),
        ("stop_loss_pct = 2", "stop_loss_pct and take_profit_pct go together"),
        ("stop_loss_pct = 2\ntake_profit_pct = 4\ntrailing_pct = -1", "exits.trailing_pct: Input should be greater than 0"),
        ("stop_loss_pct = 2\ntake_profit_pct = 4\ntrailing_pct = 100", "exits.trailing_pct: Input should be less than 100"),
        ("max_hold = \"soon\"", "invalid duration 'soon'"),
        ("roi = {\"-5\" = 1}", "cannot be negative"),
        ("stop_loss_pct = 2\ntake_profit_pct = 4\nexit_reason = \"panic\"", "exits.exit_reason: unknown field"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["config show", "run"])
def test_bad_exits_are_one_line_and_exit_2(
    tmp_path: Path, exits: str, message: str, command: str
) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text(f'[profile]\nmode = "sim"\n[exits]\n{exits}\n')
    state = tmp_path / "state"
    where = ("--state-dir", str(state)) if command == "run" else ()
    proc = gpt_trader(*command.split(), "--profile", str(profile), *where)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert not (state / "gpt_trader.db").exists()  # nothing recorded, nothing placed


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--stop-loss", "100", "--take-profit", "4"), "less than 100"),
        (("--stop-loss", "-1", "--take-profit", "4"), "greater than 0"),
        (("--stop-loss", "2", "--take-profit", "0"), "greater than 0"),
        (("--stop-loss", "two", "--take-profit", "4"), "--stop-loss 'two' is not a number"),
        (("--take-profit", "4",), "go together"),
        (("--stop-loss", "2", "--take-profit", "4", "--trailing", "0"), "greater than 0"),
        (("--stop-loss", "2", "--take-profit", "4", "--trailing", "100"), "less than 100"),
        (("--trailing", "1",), "set stop_loss_pct too"),
    ],
)  # fmt: skip
def test_bad_backtest_exit_flags_are_one_line_and_exit_2(
    flags: tuple[str, ...], message: str
) -> None:
    proc = gpt_trader(*BACKTEST, *flags)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]


def test_backtest_trailing_stops_are_reported_as_trailing() -> None:
    proc = gpt_trader(
        *BACKTEST, "--stop-loss", "0.3", "--take-profit", "1", "--trailing", "0.2", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    reasons = {t["exit_reason"] for t in json.loads(proc.stdout)["trades"]}
    assert "trailing" in reasons


def test_backtest_reports_each_trades_exit_reason(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    proc = gpt_trader(
        *BACKTEST, "--stop-loss", "0.2", "--take-profit", "0.4", "--json", "--report", str(report)
    )
    assert proc.returncode == 0, proc.stderr
    trades = json.loads(proc.stdout)["trades"]
    reasons = {t["exit_reason"] for t in trades}
    assert {"stop_loss", "take_profit", "signal"} <= reasons
    assert all(t["exit_reason"] is None for t in trades if t["open"])
    html = report.read_text()
    assert "(stop_loss)" in html
    assert "(take_profit)" in html
    table = gpt_trader(
        *BACKTEST, "--stop-loss", "0.2", "--take-profit", "0.4", "--trades", "60",
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "take_profit" in table.stdout
    assert "stop_loss" in table.stdout
