"""Intents in their own file: committed there, copied into the store's orders by the
store writer or by the next store that reads orders, never accepted twice."""

from __future__ import annotations

import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import OrderStatus
from gpt_trader.domain.events import OrderIntent, OrderUpdated
from gpt_trader.errors import StoreError
from gpt_trader.store import Store, StoreSink, intents_path
from gpt_trader.store.sink import WRITER_SWITCH_INTERVAL_S


def _raw_orders(db: Path) -> dict[str, tuple[str, str | None, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT client_order_id, status, leverage, trade_ids FROM orders")
        return {cid: (status, leverage, trade_ids) for cid, status, leverage, trade_ids in rows}
    finally:
        conn.close()


def _intent_rows(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(intents_path(db))
    try:
        return dict(conn.execute("SELECT client_order_id, row FROM intents ORDER BY seq"))
    finally:
        conn.close()


def test_the_store_writer_gives_orders_the_intent_row(store: Store, db_path: Path, build) -> None:
    request = build.request("c-1", leverage=Decimal("3"))
    store.record_intent(request, 2_000)
    assert _raw_orders(db_path) == {}  # the store's file is not touched on the way out
    sink = StoreSink(store, "run-1", max_delay_s=3600)
    try:
        sink.handle(OrderIntent(2_000, request))
        sink.flush()
        assert _raw_orders(db_path) == {"c-1": ("PENDING", "3", "[]")}
        # the venue's answer lands on that row, in a later batch
        sink.handle(OrderUpdated(3_000, build.order("c-1", OrderStatus.OPEN)))
        sink.flush()
    finally:
        sink.close()
    assert _raw_orders(db_path) == {"c-1": ("OPEN", "3", "[]")}
    assert _intent_rows(db_path)["c-1"] != ""  # kept whole until the next run starts


def test_a_store_reading_orders_copies_what_the_writer_had_not(
    store: Store, db_path: Path, build
) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    store.record_intent(build.request("c-2"), 2_001)
    with Store(db_path, create=False) as restart:  # as after a crash: nothing copied them
        assert [o.client_order_id for o in restart.working_orders()] == ["c-1", "c-2"]
        assert restart.counts()["orders"] == {"PENDING": 2}
        assert restart.copy_intents() == 0  # once is enough
    assert set(_raw_orders(db_path)) == {"c-1", "c-2"}


def test_a_fill_before_the_copy_still_reaches_its_order(store: Store, build) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    assert store.add_fill(build.fill("t-1", "c-1"))
    order = store.order("c-1")
    assert order is not None
    assert order.trade_ids == ("t-1",)


def test_the_next_run_starts_after_the_copied_intents_and_ids_stay_unique(
    store: Store, db_path: Path, build
) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    store.start_run("run-2", "dev", "backtest", 3_000)
    assert _raw_orders(db_path)["c-1"][0] == "PENDING"
    assert _intent_rows(db_path) == {"c-1": ""}  # its id stays; its row is in orders
    with pytest.raises(StoreError, match="never reused"):
        store.record_intent(build.request("c-1"), 4_000)
    store.record_intent(build.request("c-3"), 4_000)
    with Store(db_path, create=False) as later:
        assert later.intents.since(0) == [(2, later.intents.since(0)[0][1])]
        assert later.copy_intents() == 1
    got = store.order("c-3")
    assert got is not None
    assert got.status is OrderStatus.PENDING


def test_a_running_writer_shortens_the_switch_interval_and_puts_it_back(store: Store) -> None:
    before = sys.getswitchinterval()
    first = StoreSink(store, "run-1")
    second = StoreSink(store, "run-1")
    try:
        assert sys.getswitchinterval() == pytest.approx(min(before, WRITER_SWITCH_INTERVAL_S))
        first.close()
        assert sys.getswitchinterval() == pytest.approx(min(before, WRITER_SWITCH_INTERVAL_S))
    finally:
        first.close()
        second.close()
    assert sys.getswitchinterval() == pytest.approx(before)
