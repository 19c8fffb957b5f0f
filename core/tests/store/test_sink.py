from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import OrderStatus, Ticker
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.events import (
    FillReceived,
    MarketData,
    OrderIntent,
    OrderUpdated,
    RunStarted,
    RunStopped,
    SignalEmitted,
)
from gpt_trader.errors import StoreError
from gpt_trader.protocols import Sink
from gpt_trader.store import Store, StoreSink


def ticker(ts: int) -> MarketData:
    price = Decimal("105573.73")
    return MarketData(ts, event=Ticker("BTC-USD", ts, price, price, price))


def signal(ts: int) -> SignalEmitted:
    return SignalEmitted(ts, signal=SignalValue("sma", "BTC-USD", ts, Action.LONG))


def log_count(db_path: Path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def test_is_a_sink(store: Store) -> None:
    sink: Sink = StoreSink(store, "run-1")
    assert hasattr(sink, "handle")


def test_flushes_on_close_and_loses_nothing(store: Store, db_path: Path) -> None:
    sink = StoreSink(store, "run-1", flush_every=256, max_delay_s=3600)
    for i in range(1000):
        sink.handle(signal(i))
    assert sink.pending == 232  # three full batches went to the writer, the rest buffered
    sink.close()
    assert log_count(db_path) == 1000
    assert [r.ts for r in store.events()] == list(range(1000))
    sink.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        sink.handle(signal(1000))


def test_flushes_on_explicit_flush_and_run_stopped(store: Store, db_path: Path) -> None:
    sink = StoreSink(store, "run-1", max_delay_s=3600)
    sink.handle(RunStarted(1, "run-1", "dev", "backtest"))
    assert log_count(db_path) == 0
    sink.flush()
    assert log_count(db_path) == 1
    sink.handle(signal(2))
    sink.handle(RunStopped(3, "run-1", "done", {"pnl": Decimal("1")}))
    assert log_count(db_path) == 3
    assert sink.pending == 0


def test_flushes_when_the_oldest_event_has_waited(store: Store, db_path: Path) -> None:
    sink = StoreSink(store, "run-1", max_delay_s=0)
    sink.handle(signal(1))
    deadline = time.monotonic() + 5
    while log_count(db_path) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the writer thread commits it without any further call
    assert log_count(db_path) == 1
    sink.close()


def test_writes_orders_and_fills_with_their_batch(store: Store, db_path: Path, build) -> None:
    sink = StoreSink(store, "run-1", max_delay_s=3600)
    req = build.request("c-1")
    store.record_intent(req, 10)  # the kernel does this before calling the broker
    sink.handle(OrderIntent(10, request=req))
    sink.handle(OrderUpdated(11, order=build.order("c-1", OrderStatus.OPEN)))
    fill = build.fill("t-1", cid="c-1", ts=12)
    sink.handle(FillReceived(12, fill=fill, realized_pnl=Decimal("0")))
    sink.handle(FillReceived(12, fill=fill, realized_pnl=Decimal("0")))  # duplicate message
    filled = build.order(
        "c-1", OrderStatus.FILLED, filled_size=req.size, trade_ids=("t-1",), updated_ts=13
    )
    sink.handle(OrderUpdated(13, order=filled))
    # buffered: only the intent (written by record_intent) is in the tables so far
    assert store.order("c-1").status is OrderStatus.PENDING  # type: ignore[union-attr]
    assert store.fills() == []
    assert log_count(db_path) == 0
    sink.flush()
    got = store.order("c-1")
    assert got is not None
    assert (got.status, got.filled_size, got.trade_ids) == (OrderStatus.FILLED, req.size, ("t-1",))
    assert store.fills() == [fill]
    sink.close()
    types = [r.type for r in store.events()]
    assert types == ["order.intent", "order.updated", "fill", "fill", "order.updated"]


def test_market_data_only_when_asked(store: Store) -> None:
    quiet = StoreSink(store, "run-1", record_market=False)
    quiet.handle(ticker(1))
    quiet.handle(signal(2))
    quiet.close()
    assert [r.type for r in store.events()] == ["signal"]
    loud = StoreSink(store, "run-2")
    loud.handle(ticker(3))
    loud.close()
    (row,) = store.events(run_id="run-2")
    assert row.type == "market"
    assert row.payload["event"]["price"] == "105573.73"


def test_failed_flush_keeps_the_batch(db_path: Path) -> None:
    store = Store(db_path)
    store.start_run("run-1", "dev", "sim", 0)
    sink = StoreSink(store, "run-1", max_delay_s=3600)
    for i in range(3):
        sink.handle(signal(i))
    with sqlite3.connect(db_path) as other:  # the disk "fails": the table is gone
        other.execute("ALTER TABLE events RENAME TO events_away")
    with pytest.raises(StoreError):
        sink.flush()
    assert sink.pending == 3
    with pytest.raises(StoreError):
        sink.handle(signal(3))
    with sqlite3.connect(db_path) as other:
        other.execute("ALTER TABLE events_away RENAME TO events")
    sink.close()
    assert [r.ts for r in store.events()] == [0, 1, 2]
    store.close()


def test_flush_every_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="flush_every"):
        StoreSink(store, "run-1", flush_every=0)


def test_the_writer_keeps_the_wal_small_when_the_run_does_not_checkpoint(
    db_path: Path, build
) -> None:
    """A run's connection does not checkpoint on commit (the intent write stays off the
    WAL's fsyncs); the sink's writer does, so the WAL starts over instead of growing."""
    run_store = Store(db_path, autocheckpoint=False)
    run_store.start_run("run-1", "test", "sim", 0)
    sink = StoreSink(run_store, "run-1", flush_every=8, max_delay_s=3600)
    for i in range(4000):
        if i % 8 == 0:
            run_store.record_intent(build.request(f"c-{i}"), i)  # the run's own commits
        sink.handle(ticker(i))
        sink.handle(signal(i))
    sink.flush()
    wal = db_path.with_name(db_path.name + "-wal")
    size = wal.stat().st_size
    sink.close()
    run_store.close()
    assert log_count(db_path) == 8000
    # ~1,000 batches went through the WAL (about 40 MB without checkpoints); SQLite's own
    # autocheckpoint would have let it reach 4 MB.
    assert size < 4_000_000
