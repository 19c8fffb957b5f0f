"""Each simulator keeps its own clock: moving one ahead (``POST /admin/clock``) leaves
another simulator in the same process on the wall clock, as its REST replies (official SDK)
and WebSocket envelopes show."""

from __future__ import annotations

import asyncio
import time

import pytest
from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import admin, record_ws
from gpt_trader_coinbase_sim.wire import NS, parse_rfc3339

DAYS_AHEAD = 3
AHEAD_NS = DAYS_AHEAD * 86_400 * NS
HEARTBEATS = {"type": "subscribe", "channel": "heartbeats", "product_ids": []}


def accounts_time(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> int:
    """The simulator's now as REST tells it: an account's ``updated_at`` (stamped per reply)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    client = RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)
    return parse_rfc3339(client.get_accounts().accounts[0].updated_at)


def envelope_time(sim: SimulatorThread) -> int:
    """The simulator's now as the market socket tells it: the first envelope's timestamp."""
    rec = asyncio.run(record_ws(sim.info.ws_url, sim.info, [HEARTBEATS], max_frames=1))
    return parse_rfc3339(rec.frames[0]["timestamp"])


def test_moving_one_simulators_clock_leaves_another_on_the_wall_clock(make_sim, monkeypatch):
    ahead, other = make_sim(seed=1), make_sim(seed=2)

    admin(ahead.info, "POST", "/clock", {"seconds": DAYS_AHEAD * 86_400})

    before = time.time_ns() // 1_000 * 1_000  # REST times carry microseconds
    other_rest = accounts_time(other, monkeypatch)
    other_ws = envelope_time(other)
    ahead_rest = accounts_time(ahead, monkeypatch)
    ahead_ws = envelope_time(ahead)
    after = time.time_ns()

    assert before <= other_rest <= after
    assert before <= other_ws <= after
    assert before + AHEAD_NS <= ahead_rest <= after + AHEAD_NS
    assert before + AHEAD_NS <= ahead_ws <= after + AHEAD_NS
