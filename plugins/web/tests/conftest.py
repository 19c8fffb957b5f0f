"""A real bot's store and a real web server on loopback, as a user starts them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from web_support import WebServer, dev_bot, start_web, stop


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of a short, finished dev run (simulated exchange, no network)."""
    state = tmp_path_factory.mktemp("bot")
    bot = dev_bot(state, "--for", "6s")
    assert bot.wait(timeout=120) == 0
    return state


@pytest.fixture(scope="module")
def web(finished_store: Path) -> Iterator[WebServer]:
    server = start_web(finished_store)
    yield server
    stop(server.proc)
