"""Simulator fixtures: one shared server for the functional tests, fresh ones on demand.

Every server is checked at teardown: no request may have ended in our own 500 (the error
middleware counts unexpected exceptions instead of hiding them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import FAST

# Fast, with the history test_candles reads (six hourly candles back from now).
FAST_HISTORY = {**FAST, "history_minutes": 400}


# One tick at start, then a still market: tests move marks themselves.
STILL = {"tick_s": 3600.0, "history_minutes": 60, "heartbeat_s": 0.1, "ticker_batch_s": 0.5}


def _check_clean(sim: SimulatorThread) -> None:
    errors = sim.state.internal_errors
    sim.stop()
    assert errors == 0, f"{errors} request(s) hit an internal error (see the log)"


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorThread]:
    # Enough cash that every test can trade without running the shared account dry.
    cash = {"USD": Decimal("500000")}
    st = SimulatorThread(tmp_path_factory.mktemp("sim"), seed=7, balances=cash, **FAST_HISTORY)
    st.start()
    yield st
    _check_clean(st)


@pytest.fixture
def rest(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> RESTClient:
    """The official SDK client, unmodified, trusting the simulator's cert via the env."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    return RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)


@pytest.fixture
def make_sim(tmp_path: Path) -> Iterator[Callable[..., SimulatorThread]]:
    """Start a private simulator with options (faults, seed, timeouts); stopped after the test."""
    started: list[SimulatorThread] = []

    def _make(**options: Any) -> SimulatorThread:
        opts = {**FAST_HISTORY, **options}
        st = SimulatorThread(tmp_path / f"sim{len(started)}", **opts)
        st.start()
        started.append(st)
        return st

    yield _make
    for st in started:
        _check_clean(st)


@pytest.fixture(scope="module")
def module_sim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatorThread]:
    """A still-market simulator for one test module, with the module's ``SIM_OPTIONS``."""
    name = request.module.__name__.rpartition(".")[2]
    st = SimulatorThread(tmp_path_factory.mktemp(name), **{**STILL, **request.module.SIM_OPTIONS})
    st.start()
    yield st
    _check_clean(st)


@pytest.fixture(scope="module")
def module_rest(module_sim: SimulatorThread) -> Iterator[RESTClient]:
    """The official SDK client on :func:`module_sim`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", module_sim.info.cert_file)
        yield RESTClient(key_file=module_sim.info.key_file, base_url=module_sim.info.rest_base_url)
