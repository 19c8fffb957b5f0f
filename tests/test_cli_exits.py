"""``[exits]`` from the CLI: bad values are one line and exit 2 (config show, run, backtest),
with nothing placed; a backtest reports each trade's exit reason; ``status`` and the
dashboard show each open position's stop and target (its working bracket's)."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import REPO, gpt_trader, run_json
from gpt_trader.monitor.reader import StoreReader

SAMPLE_CSV = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
BACKTEST = ("backtest", "--data", str(SAMPLE_CSV), "--symbol", "BTC-USD", "--signal", "sma_cross")


@pytest.mark.parametrize(
    ("exits", "message"),
    [
        ("stop_loss_pct = 100\ntake_profit_pct = 4", "exits.stop_loss_pct: Input should be less than 100"),
        ("stop_loss_pct = 0\ntake_profit_pct = 4", "exits.stop_loss_pct: Input should be greater than 0"),
        ("stop_loss_pct = 2\ntake_profit_pct = -1", "exits.take_profit_pct: Input should be greater than 0"),
        ("take_profit_pct = 4\ntrailing_pct = 1", "trailing_pct moves the venue stop: set stop_loss_pct too"),
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
        (("--take-profit", "4", "--trailing", "1"), "set stop_loss_pct too"),
        (("--stop-loss", "2", "--take-profit", "4", "--trailing", "0"), "greater than 0"),
        (("--stop-loss", "2", "--take-profit", "4", "--trailing", "100"), "less than 100"),
        (("--trailing", "1",), "set stop_loss_pct too"),
        (("--roi", "x"), "--roi 'x': expected MINUTES=PCT"),
        (("--roi", "0=abc"), "--roi 'abc' is not a number"),
        (("--roi", "-5=1"), "cannot be negative"),
        (("--max-hold", "soon"), "invalid duration 'soon'"),
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


@pytest.fixture(scope="module")
def bracketed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dev-profile run with ``[exits]`` on the sim broker that stops with positions open,
    their brackets left working (``on_stop = "leave"``), as a venue holds them."""
    tmp = tmp_path_factory.mktemp("bracketed")
    dev = (REPO / "config" / "profiles" / "dev.toml").read_text()
    assert 'on_stop = "cancel"' in dev
    profile = tmp / "exits.toml"
    profile.write_text(
        dev.replace('on_stop = "cancel"', 'on_stop = "leave"')
        + "\n[exits]\nstop_loss_pct = 2\ntake_profit_pct = 4\n"
    )
    state = tmp / "state"
    run_json("run", "--profile", str(profile), "--dev-fast", "--max-events", "2000",
             "--state-dir", str(state))  # fmt: skip
    return state


def working_brackets(state: Path) -> dict[str, tuple[str, str, str]]:
    """symbol -> (stop trigger, take-profit limit, price increment) of each working bracket."""
    with sqlite3.connect(state / "gpt_trader.db") as db:
        rows = db.execute(
            "SELECT o.symbol, o.stop_price, o.limit_price, p.price_increment FROM orders o "
            "JOIN products p ON p.symbol = o.symbol WHERE o.order_type = 'BRACKET' "
            "AND o.status IN ('PENDING', 'UNKNOWN', 'OPEN', 'PARTIALLY_FILLED')"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_status_shows_each_positions_stop_and_target(bracketed: Path) -> None:
    brackets = working_brackets(bracketed)
    status = run_json("status", "--state-dir", str(bracketed))
    positions = {p["symbol"]: p for p in status["positions"]}
    assert positions, "the run ended flat: nothing to show"
    assert set(positions) == set(brackets)  # every open position has its bracket
    for symbol, p in positions.items():
        stop, target, tick = brackets[symbol]
        assert (Decimal(p["stop"]), Decimal(p["target"])) == (Decimal(stop), Decimal(target))
        exponent = Decimal(tick).as_tuple().exponent
        assert Decimal(p["stop"]).as_tuple().exponent == exponent  # on the product's tick
        assert Decimal(p["target"]).as_tuple().exponent == exponent
        assert Decimal(p["stop"]) < Decimal(p["avg_entry_price"]) < Decimal(p["target"])
    table = gpt_trader("status", "--state-dir", str(bracketed), env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    some = next(iter(positions.values()))
    assert f"stop {some['stop']}, target {some['target']}" in table.stdout


def test_status_shows_no_levels_without_a_bracket(tmp_path: Path) -> None:
    run_json("run", "--profile", "dev", "--dev-fast", "--max-events", "2000",
             "--state-dir", str(tmp_path))  # fmt: skip
    positions = run_json("status", "--state-dir", str(tmp_path))["positions"]
    assert positions
    assert all(p["stop"] is None and p["target"] is None for p in positions)


def test_dashboard_shows_each_positions_stop_and_target(bracketed: Path) -> None:
    brackets = working_brackets(bracketed)
    reader = StoreReader(bracketed)
    try:
        data = reader.read(time.time_ns())
    finally:
        reader.close()
    assert not data.error
    held = {p.symbol: p for p in data.positions if p.size != 0}
    assert set(held) == set(brackets)
    for symbol, p in held.items():
        stop, target, _ = brackets[symbol]
        assert (p.stop, p.target) == (Decimal(stop), Decimal(target))
        assert str(p.stop) == stop  # quantised to the tick, as the store has it


def _exits_of(*flags: str) -> list[tuple[int, int, str, str | None]]:
    proc = gpt_trader(*BACKTEST, *flags, "--json")
    assert proc.returncode == 0, proc.stderr
    trades = json.loads(proc.stdout)["trades"]
    return [(t["entry_bar"], t["exit_bar"], t["exit_price"], t["exit_reason"]) for t in trades]


def test_backtest_roi_exits_agree_between_the_vectorised_and_the_event_path() -> None:
    # ROI acts on bars no signal marks: the vectorised path must feed them while a position
    # is open, or it closes later than the event path (it did: 3 ROI exits instead of 31).
    vectorised = _exits_of("--roi", "0=0.1")
    assert sum(1 for *_, reason in vectorised if reason == "roi") > 10
    assert vectorised == _exits_of("--roi", "0=0.1", "--events")


def test_backtest_max_hold_closes_positions_on_time() -> None:
    trades = _exits_of("--max-hold", "1m")
    assert trades
    assert all(
        reason == "max_hold" and exit_bar == entry_bar + 1
        for entry_bar, exit_bar, _, reason in trades
        if reason
    )


@pytest.mark.parametrize(
    ("flag", "reason", "never"),
    [("--stop-loss", "stop_loss", "take_profit"), ("--take-profit", "take_profit", "stop_loss")],
)
def test_backtest_takes_a_lone_stop_or_target(flag: str, reason: str, never: str) -> None:
    trades = _exits_of(flag, "0.3")
    reasons = {r for *_, r in trades}
    assert reason in reasons
    assert never not in reasons
    assert reasons <= {reason, "signal"}


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``bracketed``, with a lone ``stop_loss_pct``: each position's one stop-limit."""
    tmp = tmp_path_factory.mktemp("stopped")
    dev = (REPO / "config" / "profiles" / "dev.toml").read_text()
    profile = tmp / "stop.toml"
    profile.write_text(
        dev.replace('on_stop = "cancel"', 'on_stop = "leave"') + "\n[exits]\nstop_loss_pct = 2\n"
    )
    state = tmp / "state"
    run_json("run", "--profile", str(profile), "--dev-fast", "--max-events", "2000",
             "--state-dir", str(state))  # fmt: skip
    return state


def test_status_and_dashboard_show_a_lone_stop(stopped: Path) -> None:
    with sqlite3.connect(stopped / "gpt_trader.db") as db:
        rows = db.execute(
            "SELECT symbol, order_type, stop_price FROM orders WHERE tag = 'exit:stop_loss' "
            "AND status IN ('PENDING', 'UNKNOWN', 'OPEN', 'PARTIALLY_FILLED')"
        ).fetchall()
    stops = {symbol: stop for symbol, _, stop in rows}
    assert {kind for _, kind, _ in rows} == {"STOP_LIMIT"}
    assert len(stops) == len(rows)  # one per position, never two
    positions = {
        p["symbol"]: p for p in run_json("status", "--state-dir", str(stopped))["positions"]
    }
    assert positions, "the run ended flat: nothing to show"
    assert set(positions) == set(stops)
    for symbol, p in positions.items():
        assert (p["stop"], p["target"]) == (stops[symbol], None)
        assert Decimal(p["stop"]) < Decimal(p["avg_entry_price"])
    table = gpt_trader("status", "--state-dir", str(stopped), env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    some = next(iter(positions.values()))
    assert f"stop {some['stop']}, target -" in table.stdout
    reader = StoreReader(stopped)
    try:
        data = reader.read(time.time_ns())
    finally:
        reader.close()
    held = {p.symbol: p for p in data.positions if p.size != 0}
    assert {s: (str(p.stop), p.target) for s, p in held.items()} == {
        s: (stop, None) for s, stop in stops.items()
    }
