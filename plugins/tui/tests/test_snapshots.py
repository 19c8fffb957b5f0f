"""Snapshots of the main screen in fresh, stale and halted states, from real store files
and a frozen clock. Update them with `pytest plugins/tui --snapshot-update`."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_trader_tui.app import DashboardApp
from tui_support import NOW, build_store

SIZE = (120, 40)


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)  # the snapshots are in colour
    return Path("bot")


def app_for(state_dir: Path) -> DashboardApp:
    return DashboardApp(state_dir, clock=lambda: NOW, poll_s=3600, user="tester")


def test_fresh(snap_compare, bot: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_for(build_store(bot, "fresh")), terminal_size=SIZE)


def test_stale(snap_compare, bot: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_for(build_store(bot, "stale")), terminal_size=SIZE)


def test_halted(snap_compare, bot: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(app_for(build_store(bot, "halted")), terminal_size=SIZE)
