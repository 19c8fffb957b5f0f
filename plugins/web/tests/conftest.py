"""A real bot's store and a real web server on loopback, as a user starts them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from web_support import WebServer, start_web, stop


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of a short, finished dev run (simulated exchange, no network)."""
    state = tmp_path_factory.mktemp("bot")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpt_trader",
            "run",
            "--profile",
            "dev",
            "--state-dir",
            str(state),
            "--for",
            "6s",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return state


@pytest.fixture(scope="module")
def web(finished_store: Path) -> Iterator[WebServer]:
    server = start_web(finished_store)
    yield server
    stop(server.proc)
