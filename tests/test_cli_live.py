"""`status` on a running bot, operator commands while it runs, and how the run ends."""

from __future__ import annotations

import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

from cli_helpers import gpt_trader, run_json, running_bot, wait_for

WIDE = {"COLUMNS": "200"}  # one table row per line, whatever the terminal


def status(state_dir: Path) -> dict[str, Any]:
    return run_json("status", "--state-dir", str(state_dir))


def status_text(state_dir: Path) -> str:
    proc = gpt_trader("status", "--state-dir", str(state_dir), env=WIDE)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def stop_reason(state_dir: Path) -> str:
    with sqlite3.connect(state_dir / "gpt_trader.db") as db:
        (row,) = db.execute("select stop_reason from runs").fetchall()
    return str(row[0])


def trading(state_dir: Path) -> dict[str, Any] | None:
    if not (state_dir / "gpt_trader.db").exists():
        return None
    data = status(state_dir)
    return data if data["counts"]["fills"] > 0 else None


def assert_plain_orders(text: str) -> None:
    """Orders as ``30 (29 filled, 1 pending)``, never a Python dict."""
    assert "{" not in text, text
    match = re.search(r"orders\W+(\d+) \(([^)]*filled[^)]*)\)", text)
    assert match, text
    counts = [int(part.split()[0]) for part in match.group(2).split(", ")]
    assert sum(counts) == int(match.group(1))


def test_status_shows_a_running_bot_and_an_operator_stop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_bot("--profile", "dev", "--state-dir", str(state)) as bot:
        live = wait_for(lambda: trading(state), "the bot to trade")
        assert live["running"] is True
        assert live["trading_state"] == "ACTIVE"
        assert live["entries_paused"] == ""
        run = live["last_run"]
        assert (run["profile"], run["mode"], run["stop_reason"]) == ("dev", "sim", "")
        # The equity the running bot last recorded, on cents, with when.
        equity = wait_for(lambda: status(state)["equity"], "the bot to record its equity")
        assert re.fullmatch(r"\d+\.\d{2}", equity["amount"]), equity
        text = status_text(state)
        assert re.search(r"equity\W+\d+\.\d{2} \(as of \d{4}-", text), text
        assert "running since" in text
        assert "ACTIVE" in text
        assert "UNKNOWN" not in text
        assert f"{run['run_id']} (dev, sim)" in text
        assert_plain_orders(text)

        assert (
            gpt_trader("pause", "--state-dir", str(state), "--reason", "wide spreads").returncode
            == 0
        )
        paused = wait_for(lambda: status(state)["entries_paused"], "the pause to apply")
        assert paused == "operator pause: wide spreads"
        assert re.search(r"entries paused\W+operator pause: wide spreads", status_text(state))

        stop = gpt_trader("stop", "--state-dir", str(state), "--reason", "maintenance window")
        assert stop.returncode == 0, stop.stderr
        panel, _ = bot.communicate(timeout=60)
        assert bot.returncode == 0

    assert stop_reason(state) == "operator: maintenance window"
    after = status(state)
    assert after["running"] is False
    assert after["last_run"]["stop_reason"] == "operator: maintenance window"
    assert after["trading_state"] == "ACTIVE"
    assert re.search(rf"equity\W+{re.escape(after['equity']['amount'])}\W", panel)
    assert after["entries_paused"] == "operator pause: wide spreads"
    text = status_text(state)
    assert "stopped: operator: maintenance window" in text
    # The dev market's minute bars come a second apart, after an hour of warm-up at once.
    assert after["equity"]["clock_ahead"] is True
    assert "the simulated market's time: ahead of this machine's clock" in text
    assert_plain_orders(text)
    # The run's own panel says the same.
    assert "operator: maintenance window" in panel
    assert re.search(r"entries paused\W+operator pause: wide spreads", panel)
    assert_plain_orders(panel)


def test_a_signal_still_stops_for_signal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_bot("--profile", "dev", "--state-dir", str(state)) as bot:
        wait_for(lambda: trading(state), "the bot to trade")
        bot.send_signal(signal.SIGTERM)
        bot.communicate(timeout=60)
        assert bot.returncode == 0
    assert stop_reason(state) == "signal"
    assert status(state)["last_run"]["stop_reason"] == "signal"
