"""Fixtures for the research plugin's tests: the shipped sample, the shared full file (the
tests that need it skip without it), a plugin manager with every installed plugin, and the
CLI run in-process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.plugins import PluginManager, make_plugin_manager

sys.path.insert(0, str(Path(__file__).parent))

from research_support import FULL, SAMPLE


@pytest.fixture(scope="session")
def sample() -> Path:
    assert SAMPLE.is_file(), "the shipped sample tests/data/btcusd_1m_sample.csv is missing"
    return SAMPLE


@pytest.fixture(scope="session")
def full() -> Path:
    if not FULL.is_file():
        pytest.skip("../shared/data is not present in this checkout")
    return FULL


@pytest.fixture(scope="session")
def pm() -> PluginManager:
    """Every installed plugin, as the CLI loads them (entry points)."""
    return make_plugin_manager()


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``gpt-trader ARGS`` in this process (the real ``main``): returns (code, out, err)."""
    from gpt_trader.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
