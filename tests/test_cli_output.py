"""What `gpt-trader run` tells a person: the panel and the log, without Python reprs,
flat positions or a line repeated for an order whose status did not change."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from cli_helpers import gpt_trader
from gpt_trader.cli.run_cmd import show_summary

ORDER_LINE = re.compile(r"^order (\S+) \S+ \S+ \S+ ([A-Z_]+)")
POSITION_ROW = re.compile(r"^\W*([A-Z0-9]+-[A-Z]+)\s+(\S+) @ ", re.MULTILINE)


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, dict[str, Any]]:
    """One fast dev run: its panel (stdout), its JSON-lines log (stderr) and its summary."""
    state = tmp_path_factory.mktemp("dev")
    run = ("run", "--profile", "dev", "--dev-fast", "--max-events", "3000")
    env = {"GPT_TRADER_LOGGING__JSON_LINES": "true", "COLUMNS": "200"}
    proc = gpt_trader(*run, "--state-dir", str(state), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with sqlite3.connect(state / "gpt_trader.db") as db:
        (row,) = db.execute("select summary from runs").fetchall()
    return proc.stdout, proc.stderr, json.loads(row[0])


def test_the_panel_prints_orders_as_text(dev_run: tuple[str, str, dict[str, Any]]) -> None:
    panel, _, summary = dev_run
    assert "{" not in panel
    assert "'" not in panel
    match = re.search(r"orders\W+(\d+) \(([^)]*)\)", panel)
    assert match, panel
    assert int(match.group(1)) == summary["orders"]
    shown = dict(reversed(part.split(" ", 1)) for part in match.group(2).split(", "))
    assert shown == {s.lower(): str(n) for s, n in summary["orders_by_status"].items()}


def test_the_panel_shows_only_open_positions(dev_run: tuple[str, str, dict[str, Any]]) -> None:
    panel, _, summary = dev_run
    flat = {p["symbol"] for p in summary["positions"] if Decimal(p["size"]) == 0}
    held = {p["symbol"]: p["size"] for p in summary["positions"] if Decimal(p["size"]) != 0}
    assert flat, "the run should have closed a position (or the test proves nothing)"
    assert dict(POSITION_ROW.findall(panel)) == held


def test_each_order_transition_is_logged_once(dev_run: tuple[str, str, dict[str, Any]]) -> None:
    _, log, summary = dev_run
    messages = [json.loads(line)["message"] for line in log.splitlines() if line.startswith("{")]
    transitions = Counter(
        match.groups() for match in map(ORDER_LINE.match, messages) if match is not None
    )
    assert transitions, "the log has no order lines"
    assert {key: n for key, n in transitions.items() if n > 1} == {}
    filled = sum(1 for _, status in transitions if status == "FILLED")
    assert filled == summary["orders_by_status"]["FILLED"]


def test_the_panel_prints_warnings_and_a_pause(
    dev_run: tuple[str, str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, summary = dev_run
    flat = [p for p in summary["positions"] if Decimal(p["size"]) == 0]
    show_summary(
        {
            **summary,
            "positions": flat,
            "entries_paused": "operator pause: wide spreads",
            "warnings": ["no market data was received"],
        }
    )
    panel = capsys.readouterr().out
    assert re.search(r"warning\W+no market data was received", panel)
    assert re.search(r"entries paused\W+operator pause: wide spreads", panel)
    assert re.search(r"positions\W+no open positions", panel)
    assert not POSITION_ROW.findall(panel)
