"""`strategy new`: a third-party package that installs, lists, tests and backtests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from research_support import cli


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`gpt-trader strategy new` run as a user runs it, then installed into a target dir."""
    root = tmp_path_factory.mktemp("strategies")
    proc = cli("strategy", "new", "swing_lab", "--dir", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    assert made["signal"] == "swing_lab.momentum"
    assert made["distribution"] == "gpt-trader-swing-lab"
    pkg = Path(made["path"])
    assert (pkg / "pyproject.toml").is_file()
    assert (pkg / "tests" / "test_swing_lab.py").is_file()
    target = root / "site"
    uv = shutil.which("uv")
    cmd = (
        [uv, "pip", "install", "--no-deps", "--target", str(target), str(pkg)]
        if uv
        else [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            str(pkg),
        ]
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return pkg, target


def test_it_shows_in_plugins_list(package: tuple[Path, Path]) -> None:
    _, target = package
    proc = cli("plugins", "list", "--json", env={"PYTHONPATH": str(target)})
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    row = rows["swing_lab"]
    assert row["status"] == "loaded"
    assert row["distribution"] == "gpt-trader-swing-lab"
    assert row["provides"] == ["signal:swing_lab.momentum"]


def test_its_own_tests_pass(package: tuple[Path, Path]) -> None:
    pkg, target = package
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
        cwd=pkg,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 passed" in proc.stdout


def test_it_backtests_on_the_fast_path(package: tuple[Path, Path], sample: Path) -> None:
    _, target = package
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD",
        "--signal", "swing_lab.momentum:lookback=30,threshold_pct=0.1", "--json",
        env={"PYTHONPATH": str(target)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["path"] == "vectorised"
    assert out["stats"]["trades"] > 0


def test_bad_names_and_existing_dirs(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_main("strategy", "new", "Bad-Name", "--dir", str(tmp_path))
    assert code == 2
    assert "lower-case letters" in err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("mine")
    code, _, err = run_main("strategy", "new", "taken", "--dir", str(tmp_path))
    assert code == 2
    assert "already exists" in err
    assert (tmp_path / "taken" / "x").read_text() == "mine"
