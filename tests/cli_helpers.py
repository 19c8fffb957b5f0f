"""Helpers for cross-package tests: run the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def gpt_trader(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess exactly as `uv run gpt-trader ...` would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_json(*args: str, **kw: Any) -> dict[str, Any]:
    proc = gpt_trader(*args, "--json", **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
