"""A third-party strategy package installs, shows in `plugins list` and trades from a profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, gpt_trader

EXAMPLE = REPO / "examples" / "third_party_signal"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "pip", "install", "--no-deps", "--target", str(target), str(EXAMPLE)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            str(EXAMPLE),
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return target


def test_plugins_list_shows_the_installed_package(installed: Path) -> None:
    proc = gpt_trader("plugins", "list", "--json", env={"PYTHONPATH": str(installed)})
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    row = rows["example_signal"]
    assert row["status"] == "loaded"
    assert row["distribution"] == "gpt-trader-example-signal"
    assert "signal:example.breakout" in row["provides"]
    for builtin in ("sim", "store", "core", "strategies"):
        assert rows[builtin]["status"] == "loaded"


def test_a_profile_selects_the_third_party_signal(installed: Path, tmp_path: Path) -> None:
    profile = tmp_path / "breakout.toml"
    profile.write_text(
        '[profile]\nuniverse = ["BTC-USD", "ETH-USD"]\nseed = 3\n'
        '[broker]\nuse = "sim"\n[feed]\nuse = "synthetic"\npace_s = 0\n'
        '[[signals]]\nuse = "example.breakout"\n'
        '[voter]\nuse = "majority"\n[sizer]\nuse = "fixed"\nnotional = "100"\n'
    )
    proc = gpt_trader(
        "run",
        "--profile",
        str(profile),
        "--max-events",
        "3000",
        "--state-dir",
        str(tmp_path / "s"),
        "--json",
        env={"PYTHONPATH": str(installed)},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["fills"] > 0
    proc = gpt_trader(
        "run", "--profile", str(profile), "--max-events", "10", "--state-dir", str(tmp_path / "t")
    )
    assert proc.returncode == 2
    assert "example.breakout" in proc.stderr


def test_the_package_tests_pass_against_the_installed_copy(installed: Path, tmp_path: Path) -> None:
    # Outside the repository: the installed package and gpt-trader's pytest fixtures
    # (replay_feed, plugin_manager) are all the example's tests may rely on.
    tests = tmp_path / "tests"
    shutil.copytree(EXAMPLE / "tests", tests)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout, proc.stdout[-2000:]
