"""Deterministic chaos over the real parts: the coinbase-sim profile's kernel and Coinbase
adapter against the simulator (HTTP and WebSocket bytes over memory pipes), real SQLite
stores, virtual time."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from gpt_trader_chaos import scenario
from gpt_trader_chaos.runner import Settings, _plugins, run_one
from gpt_trader_coinbase.rest import Ambiguous

REPO = Path(__file__).resolve().parents[3]
# Short scenarios: the invariants and crashes are the same, a test run stays short.
QUICK = Settings(mix="harsh", max_crashes=3, duration_s=60.0)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", "chaos", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_scenario_with_faults_and_crashes_keeps_every_invariant() -> None:
    # without exits: no resting order, so every order fills
    out = run_one(dataclasses.replace(QUICK, exits=False), 4)
    assert out.failures == {}
    assert out.crashes == 3  # seed 4 draws three crash points, each comes round
    assert out.orders > 0
    assert out.fills == out.orders
    assert sum(out.faults.values()) > 0


def test_the_same_seed_replays_exactly() -> None:
    first, second = run_one(QUICK, 2), run_one(QUICK, 2)
    assert dataclasses.asdict(first) == dataclasses.asdict(second)


def _played(seed: int) -> str:
    """Everything a scenario did that a run can tell: its plan, crashes, faults by kind,
    orders, fills, the full trace of orders and crashes, the invariants' verdict."""
    out = scenario.run(QUICK.plan(seed), _plugins())
    assert out.ok, (out.failures, out.error)
    return json.dumps(dataclasses.asdict(out), sort_keys=True, default=str)


def _spin(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))


def test_a_seed_replays_byte_for_byte_on_a_busy_machine() -> None:
    """Seed 30 (a crash, 5xx, 429, ambiguous replies in both modes, gaps, duplicates,
    reordering) three times while a process and a thread compete for the CPU."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    try:
        runs = [_played(30) for _ in range(3)]
    finally:
        stop.set()
        hog.kill()
        hog.wait()
        spinner.join()
    assert runs[0] == runs[1] == runs[2]
    played = json.loads(runs[0])
    assert played["crashes"] == 1
    assert played["fills"] > 0
    assert {"500", "429", "ambiguous_delay", "ambiguous_drop", "gap", "reorder"} <= set(
        played["faults"]
    )


def test_a_seed_plays_the_same_alone_in_a_new_process() -> None:
    """What ``--replay`` does: the seed alone in a fresh process (another hash seed) plays
    as it did after other scenarios in this one."""
    _played(2)
    here = _played(13)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_chaos as t; print(t._played(13))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == here


def _catch(mutate: Any, settings: Settings, limit: int = 100) -> tuple[int, dict[str, list[str]]]:
    """The first of ``limit`` scenarios whose invariants fail under the injected bug."""
    for seed in range(limit):
        out = run_one(settings, seed, mutate=mutate)
        if out.failures:
            return seed, out.failures
    raise AssertionError(f"the injected bug went unnoticed in {limit} scenarios")


def _resend_unknown_under_new_id(runtime: Any) -> None:
    """The bug: a submit whose outcome is unknown is sent again under a new id."""
    rest = runtime.kernel.broker.rest
    create_order = rest.create_order

    async def buggy(body: dict[str, Any]) -> Any:
        try:
            return await create_order(body)
        except Ambiguous:
            await create_order({**body, "client_order_id": body["client_order_id"] + "b"})
            raise

    rest.create_order = buggy


def test_an_order_resent_under_a_new_id_is_caught() -> None:
    settings = Settings(faults="ambiguous=0.3,ambiguous_delay=8s", max_crashes=0, duration_s=30)
    _, failures = _catch(_resend_unknown_under_new_id, settings)
    assert "unknown_order" in failures


def _drop_a_fill(runtime: Any) -> None:
    """The bug: every third fill the kernel is told of never reaches its books."""
    kernel = runtime.kernel
    on_fill = kernel.on_fill

    def buggy(fill: Any) -> None:
        if int(fill.trade_id.encode().hex(), 16) % 3 == 0:
            return
        on_fill(fill)

    kernel.on_fill = buggy


def test_a_dropped_fill_is_caught() -> None:
    _, failures = _catch(_drop_a_fill, Settings(mix="none", max_crashes=0, duration_s=30))
    assert "fills" in failures
    assert "inventory" in failures


def test_the_command_reports_json_and_replays_a_seed() -> None:
    proc = _cli("--runs", "2", "--seed", "3", "--duration", "30", "--jobs", "1", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["ok"]
    assert report["scenarios"] == 2
    assert report["failed"] == 0
    assert set(report["invariants"]) >= {"id_sent_twice", "fills", "inventory", "secret"}
    assert report["orders"] > 0
    assert report["fills"] > 0
    replay = _cli("--replay", "300001", "--duration", "30", "--json")
    assert replay.returncode == 0, replay.stderr[-2000:]
    assert json.loads(replay.stdout)["scenarios"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "429=2"], "--faults: probability '2' outside [0, 1]"),
        (["--faults", "nonsense"], "--faults: fault item 'nonsense' is not key=value"),
        (["--mix", "gentle"], "unknown fault mix 'gentle' (known: harsh, none)"),
        (["--profile", "paper"], "profile 'paper' has no Coinbase broker for chaos"),
        (["--faults", "429=0.1", "--mix", "harsh"], "give --faults or --mix, not both"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    proc = _cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("profile", ["cfm-sim", "intx-sim"])
def test_derivatives_profiles_keep_contracts_with_the_venue(profile: str) -> None:
    out = run_one(Settings(profile=profile, max_crashes=1, duration_s=30), 6)
    assert out.failures == {}
    assert out.orders > 0


def test_seed_100154_ends_although_a_websocket_writer_never_drains() -> None:
    """Found by `--runs 200 --seed 1`: stopping the simulator waited for ever on a
    WebSocket writer; the scenario now ends with its verdict."""
    out = run_one(Settings(), 100154)
    assert out.failures == {}
