"""`replay`: a recorded dev session replays through the replay driver decision for decision."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.plugins import PluginManager
from gpt_trader_research.replay import load_session, market_event, replay_run
from research_support import cli


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dev-profile session recorded by `gpt-trader run`, as a user records one."""
    state = tmp_path_factory.mktemp("dev")
    proc = cli(
        "run", "--profile", "dev", "--dev-fast", "--max-events", "2000",
        "--state-dir", str(state), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["fills"] > 20
    return state


def test_replay_reproduces_the_session(session: Path, pm: PluginManager) -> None:
    report = replay_run(session, None, pm=pm)
    counts = report.counts
    assert report.identical, [d.to_json() for d in report.differences[:5]]
    assert report.differences == []
    assert report.notes == []
    assert counts["decisions"]["recorded"] == counts["decisions"]["replayed"] > 20
    assert counts["orders"]["recorded"] == counts["orders"]["replayed"] > 20
    assert counts["fills"]["recorded"] == counts["fills"]["replayed"] > 20
    assert len(report.session.market) == 2000


def test_recorded_events_round_trip(session: Path) -> None:
    s = load_session(session, None)
    candle = s.market[0]
    from gpt_trader.domain.events import to_jsonable

    assert market_event(to_jsonable(candle)) == candle
    assert s.decisions[0]["after_market_events"] >= 1
    assert all(f["seq"] > 0 for f in s.fills)


def test_cli_replay_json_and_strict(session: Path, tmp_path: Path) -> None:
    proc = cli("replay", "--state-dir", str(session), "--json", "--strict")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["identical"] is True
    assert out["differences"] == []
    assert out["market_events"] == 2000
    assert out["profile"] == "dev"
    # A second run in the same state dir resumes from the first one (its positions and sim
    # exchange state): a replay starts flat, so it differs, and says why.
    proc = cli(
        "run", "--profile", "dev", "--dev-fast", "--max-events", "600",
        "--state-dir", str(session), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = json.loads(proc.stdout)["run_id"]
    proc = cli("replay", "--state-dir", str(session), "--run", second, "--json", "--strict")
    out = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert out["run_id"] == second
    assert not out["identical"]
    assert any("resumed from" in n for n in out["notes"])
    # Its fills differ, and print as every report prints money: fees in cents, also where
    # the sim charged DOGE's or XRP's in their own quote increments (0.00001, 0.0001).
    fills = [d for d in out["differences"] if d["kind"] == "fill"]
    fees = [d[side] for d in fills if d["field"] == "fee" for side in ("recorded", "replayed")]
    fees += [
        row["fee"]
        for d in fills
        if d["field"] == "missing"
        for row in (d["recorded"], d["replayed"])
        if row
    ]
    assert fees
    assert [f for f in fees if -Decimal(f).as_tuple().exponent != 2] == []


def test_replay_errors(run_main, session: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_main("replay", "--state-dir", str(tmp_path))
    assert code == 2
    assert "no store in" in err
    code, _, err = run_main("replay", "--state-dir", str(session), "--run", "nope")
    assert code == 2
    assert "no run 'nope'" in err
