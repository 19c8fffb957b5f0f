"""coinbase.market against the simulator: every channel as domain events, and the resyncs
(gap, duplicates, reordering, reconnects on 1001 and drops, a stalled feed) with entries
paused meanwhile and resumed after."""

from __future__ import annotations

import asyncio
import collections
import time
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext
from gpt_trader.domain import BookUpdate, Candle, Ticker, Trade
from gpt_trader_coinbase.spot.params import MarketFeedParams
from gpt_trader_coinbase.spot.plugin import make_market_feed
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import admin


@pytest.fixture(scope="module")
def fsim(tmp_path_factory):
    st = SimulatorThread(
        tmp_path_factory.mktemp("fsim"), seed=9, tick_s=0.05, history_minutes=30, heartbeat_s=0.1
    )
    st.start()
    yield st
    errors = st.state.internal_errors
    st.stop()
    assert errors == 0


class Kernelish:
    """What the feed sees of the kernel: the pause slot."""

    def __init__(self) -> None:
        self.entries_paused = ""
        self.calls: list[str] = []

    def pause_entries(self, reason: str) -> None:
        self.entries_paused = reason
        self.calls.append(f"pause:{reason}")

    def resume_entries(self) -> None:
        self.entries_paused = ""
        self.calls.append("resume")


def feed_for(sim, tmp_path: Path, **params):
    ctx = BuildContext(
        profile="t", mode="paper", universe=("BTC-USD",), products={}, state_dir=tmp_path
    )
    base = {
        "sim_json": str(Path(sim.info.state_dir) / "sim.json"),
        "stale_after_s": 0.5,
        "silence_s": 1.0,
        "public_rate": 100,
    }
    return make_market_feed(MarketFeedParams(**{**base, **params}), ctx)


async def collect(feed, symbols, seconds: float, during=None):
    out = []
    gen = feed.stream(symbols)
    started = time.monotonic()
    side_task = asyncio.create_task(during()) if during else None
    try:
        while time.monotonic() - started < seconds:
            try:
                out.append(await asyncio.wait_for(gen.__anext__(), timeout=seconds))
            except TimeoutError:
                break
    finally:
        await gen.aclose()
        if side_task is not None:
            await side_task
    return out


def _faults(sim, spec):
    admin(sim.info, "POST" if spec else "DELETE", "/faults", {"spec": spec} if spec else None)


async def test_every_channel_becomes_domain_events(fsim, tmp_path):
    feed = feed_for(
        fsim, tmp_path, channels=["ticker", "level2", "market_trades", "candles"], bar_seconds=1
    )
    events = await collect(feed, ["BTC-USD", "BTC-USDC"], 2.6)
    kinds = collections.Counter((type(e).__name__, e.symbol) for e in events)
    for symbol in ("BTC-USD", "BTC-USDC"):
        for kind in ("Ticker", "BookUpdate", "Trade", "Candle"):
            assert kinds[(kind, symbol)] > 0, (kind, symbol, kinds)
    books = [e for e in events if isinstance(e, BookUpdate) and e.symbol == "BTC-USD"]
    assert books[0].snapshot
    assert len(books[0].bids) > 5
    assert not books[-1].snapshot
    assert all(isinstance(px, Decimal) for px, _ in books[0].bids)
    ticks = [e for e in events if isinstance(e, Ticker)]
    assert all(t.bid < t.ask for t in ticks)
    trades = [e for e in events if isinstance(e, Trade) and e.symbol == "BTC-USD"]
    assert len({t.trade_id for t in trades}) == len(trades)
    assert {t.side for t in trades} <= {"BUY", "SELL"}
    bars = [
        e for e in events if isinstance(e, Candle) and e.interval_s == 1 and e.symbol == "BTC-USD"
    ]
    assert bars
    assert all(b.low <= b.close <= b.high for b in bars)
    assert [b.ts for b in bars] == sorted({b.ts for b in bars})
    history = [e for e in events if isinstance(e, Candle) and e.interval_s == 300]
    assert history, "closed 5-minute candles from the snapshot"


async def test_gaps_duplicates_and_reordering(fsim, tmp_path):
    feed = feed_for(fsim, tmp_path)
    kernel = Kernelish()
    feed.attach(kernel)
    _faults(fsim, "seed=2,gap=0.03,dup=0.1,reorder=0.1")
    try:
        events = await collect(feed, ["BTC-USD"], 2.5)
    finally:
        _faults(fsim, None)
    stats = feed.stream_state.stats
    assert stats.gaps >= 1
    assert stats.duplicates >= 1
    assert stats.reordered >= 1
    assert feed.stats.resyncs >= 1
    assert feed.stats.snapshots >= 1
    trades = [e.trade_id for e in events if isinstance(e, Trade)]
    assert len(trades) == len(set(trades))
    assert any(c.startswith("pause:") for c in kernel.calls)
    assert kernel.calls[-1] == "resume"
    assert kernel.entries_paused == ""
    snapshots = [e for e in events if isinstance(e, BookUpdate) and e.snapshot]
    assert len(snapshots) >= 2  # the first one, then resyncs


async def test_reconnects_after_1001_and_drops(fsim, tmp_path):
    feed = feed_for(fsim, tmp_path)
    kernel = Kernelish()
    feed.attach(kernel)

    async def drops():
        await asyncio.sleep(0.5)
        await asyncio.to_thread(admin, fsim.info, "POST", "/ws/drop", {"code": 1001})
        await asyncio.sleep(0.6)
        await asyncio.to_thread(admin, fsim.info, "POST", "/ws/drop", {})

    events = await collect(feed, ["BTC-USD"], 2.5, during=drops)
    stats = feed.stream_state.stats
    assert stats.going_away >= 1
    assert stats.drops >= 1
    assert stats.connections >= 3
    late = [e for e in events if isinstance(e, Ticker)]
    assert late
    assert late[-1].ts > time.time_ns() - 2 * 10**9
    assert kernel.calls.count("resume") >= 2
    assert kernel.entries_paused == ""


async def test_stalled_feed_pauses_entries_until_data_flows(fsim, tmp_path):
    feed = feed_for(fsim, tmp_path)
    kernel = Kernelish()
    feed.attach(kernel)
    _faults(fsim, "stall=1.2s@0.3s")
    try:
        await collect(feed, ["BTC-USD"], 2.6)
    finally:
        _faults(fsim, None)
    assert feed.stats.stale >= 1
    assert "pause:coinbase: market data stale" in kernel.calls
    assert kernel.calls[-1] == "resume"
    assert kernel.entries_paused == ""
