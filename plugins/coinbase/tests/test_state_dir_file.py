"""``positions`` and ``account`` given a file as ``--state-dir`` say so (exit 2): they once
answered "No positions", which hides a typo behind a plausible figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "gpt-trader"


@pytest.mark.parametrize("command", ["positions", "account"])
def test_a_file_as_state_dir_is_one_line(command: str, tmp_path: Path) -> None:
    target = tmp_path / "state.txt"
    target.write_text("not a state dir")
    run = subprocess.run(
        [str(BIN), command, "--profile", "dev", "--state-dir", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip() == f"gpt-trader: error: state dir {target} is a file, not a directory"
    assert target.read_text() == "not a state dir"
