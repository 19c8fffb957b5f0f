from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import Candle, OrderStatus, Position, RejectReason, Side
from gpt_trader.domain.events import (
    FillReceived,
    MarketData,
    OrderIntent,
    RunStarted,
    RunStopped,
)
from gpt_trader.errors import StoreError
from gpt_trader.protocols import OrderJournal
from gpt_trader.store import Store, intents_path
from gpt_trader.store.store import EVENTS_PER_INSERT

TERMINAL = [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED]


# -- runs ---------------------------------------------------------------------------------


def test_runs_lifecycle(store: Store) -> None:
    run = store.last_run()
    assert run is not None
    assert (run.run_id, run.profile, run.mode, run.started_ts) == ("run-1", "dev", "backtest", 1000)
    assert not run.finished
    store.finish_run("run-1", 9_000, "done", {"pnl": Decimal("1.50"), "trades": 3})
    run = store.run("run-1")
    assert run is not None
    assert run.finished
    assert (run.stopped_ts, run.stop_reason) == (9_000, "done")
    assert run.summary == {"pnl": "1.50", "trades": 3}
    assert store.run_id is None
    store.start_run("run-2", "dev", "live", 10_000, resumed_from="run-1")
    assert [r.run_id for r in store.runs()] == ["run-1", "run-2"]
    last = store.last_run()
    assert last is not None
    assert (last.run_id, last.resumed_from) == ("run-2", "run-1")
    assert store.run("nope") is None


def test_run_id_is_never_reused(store: Store) -> None:
    with pytest.raises(StoreError, match="already exists"):
        store.start_run("run-1", "dev", "backtest", 2_000)


def test_finish_unknown_run_raises(store: Store) -> None:
    with pytest.raises(StoreError, match="no run"):
        store.finish_run("nope", 1, "x", {})


# -- intents ------------------------------------------------------------------------------


def test_store_is_an_order_journal(store: Store) -> None:
    journal: OrderJournal = store
    assert journal.working_orders() == []


def test_intent_is_committed_before_return(store: Store, db_path: Path, build) -> None:
    store.record_intent(build.request("c-1"), 5_000)
    # a second connection to the intent file, as another process would see it
    other = sqlite3.connect(intents_path(db_path))
    try:
        run_id, row = other.execute(
            "SELECT run_id, row FROM intents WHERE client_order_id = 'c-1'"
        ).fetchone()
    finally:
        other.close()
    kept = json.loads(row)
    assert run_id == "run-1"
    assert (kept["status"], kept["size"], kept["limit_price"], kept["created_ts"]) == (
        "PENDING",
        "0.00000001",
        "105573.73",
        5_000,
    )
    # another process's store reads it among the orders
    with Store(db_path, create=False) as reader:
        order = reader.order("c-1")
    assert order is not None
    assert order.status is OrderStatus.PENDING


def test_intent_round_trips_as_a_pending_order(store: Store, build) -> None:
    req = build.request("c-1", reduce_only=True, post_only=True, end_ts=99, leverage=Decimal("3"))
    store.record_intent(req, 5_000)
    got = store.order("c-1")
    assert got is not None
    assert got.status is OrderStatus.PENDING
    assert (got.symbol, got.side, got.size, got.limit_price) == (
        "BTC-USD",
        Side.BUY,
        Decimal("0.00000001"),
        Decimal("105573.73"),
    )
    assert (got.post_only, got.reduce_only, got.end_ts, got.tag) == (True, True, 99, "sma")
    assert store.db.execute("SELECT leverage FROM orders").fetchone()[0] == "3"
    assert [o.client_order_id for o in store.working_orders()] == ["c-1"]


def test_reused_client_order_id_raises(store: Store, build) -> None:
    store.record_intent(build.request("c-1"), 5_000)
    with pytest.raises(StoreError, match="never reused"):
        store.record_intent(build.request("c-1"), 5_000)  # even the identical request
    with pytest.raises(StoreError, match="never reused"):
        store.record_intent(build.request("c-1", size=Decimal(2)), 6_000)
    assert store.counts()["orders"] == {"PENDING": 1}
    store.record_intent(build.request("c-2"), 7_000)  # the store is still usable


def test_intent_needs_a_run(db_path: Path, build) -> None:
    with Store(db_path) as s:
        with pytest.raises(StoreError, match="start_run"):
            s.record_intent(build.request("c-1"), 1)
        s.record_intent(build.request("c-1"), 1, run_id="explicit")
        got = s.orders(run_id="explicit")
        assert [o.client_order_id for o in got] == ["c-1"]


def test_float_money_is_refused(store: Store, build) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        store.record_intent(build.request("c-1", size=0.1), 1)
    assert store.order("c-1") is None


# -- orders -------------------------------------------------------------------------------


def test_upsert_order_updates_and_inserts(store: Store, build) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    assert store.upsert_order(build.order("c-1", OrderStatus.OPEN), "run-1")
    partial = build.order(
        "c-1",
        OrderStatus.PARTIALLY_FILLED,
        filled_size=Decimal("0.000000005"),
        avg_fill_price=Decimal("105573.73"),
        fees=Decimal("0.01"),
        trade_ids=("t-1",),
    )
    assert store.upsert_order(partial, "run-1")
    got = store.order("c-1")
    assert got is not None
    assert got.status is OrderStatus.PARTIALLY_FILLED
    assert got.order_id == "venue-1"
    assert got.filled_size == Decimal("0.000000005")
    assert got.trade_ids == ("t-1",)
    assert got.created_ts == 2_000
    # A venue-side order nobody recorded (found at reconciliation) is inserted.
    assert store.upsert_order(build.order("ext-1", OrderStatus.OPEN), "run-1")
    assert store.order("ext-1") is not None


@pytest.mark.parametrize(
    ("terminal", "stale"),
    [(terminal, stale) for terminal in TERMINAL for stale in OrderStatus if stale is not terminal],
)
def test_terminal_status_never_regresses(
    store: Store, build, terminal: OrderStatus, stale: OrderStatus
) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    assert store.upsert_order(build.order("c-1", terminal, filled_size=Decimal("0")), "run-1")
    assert store.upsert_order(build.order("c-1", stale), "run-1") is False
    got = store.order("c-1")
    assert got is not None
    assert got.status is terminal
    assert store.working_orders() == []


def test_stale_updates_are_ignored(store: Store, build) -> None:
    store.record_intent(build.request("c-1"), 2_000)
    partial = build.order("c-1", OrderStatus.PARTIALLY_FILLED, filled_size=Decimal("0.5"))
    assert store.upsert_order(partial, "run-1")
    # A late OPEN (reordered message) and an UNKNOWN after a timed-out submit are stale.
    assert not store.upsert_order(build.order("c-1", OrderStatus.OPEN), "run-1")
    assert not store.upsert_order(build.order("c-1", OrderStatus.UNKNOWN), "run-1")
    # filled_size never shrinks.
    smaller = build.order("c-1", OrderStatus.PARTIALLY_FILLED, filled_size=Decimal("0.25"))
    assert not store.upsert_order(smaller, "run-1")
    got = store.order("c-1")
    assert got is not None
    assert (got.status, got.filled_size) == (OrderStatus.PARTIALLY_FILLED, Decimal("0.5"))
    # PENDING -> UNKNOWN is a real move (ambiguous send), and known fields are kept.
    store.record_intent(build.request("c-2"), 2_000)
    unknown = build.order("c-2", OrderStatus.UNKNOWN, order_id="", tag="")
    assert store.upsert_order(unknown, "run-1")
    got = store.order("c-2")
    assert got is not None
    assert (got.status, got.tag) == (OrderStatus.UNKNOWN, "sma")


def test_a_refusal_is_stored_as_its_typed_reason(store: Store, db_path: Path, build) -> None:
    funds = build.order("c-1", OrderStatus.REJECTED, reject_reason=RejectReason.INSUFFICIENT_FUNDS)
    raw = build.order("c-2", OrderStatus.REJECTED, reject_reason="Insufficient balance")
    # An ambiguous submit keeps its error text; once REJECTED, that text is no reason.
    unknown = build.order("c-3", OrderStatus.UNKNOWN, reject_reason="timed out")
    for order in (funds, raw, unknown):
        store.record_intent(build.request(order.client_order_id), 2_000)
        assert store.upsert_order(order, "run-1")
    assert store.upsert_order(build.order("c-3", OrderStatus.REJECTED, reject_reason=""), "run-1")
    got = {o.client_order_id: o.reject_reason for o in store.orders()}
    assert got == {"c-1": "INSUFFICIENT_FUNDS", "c-2": "UNKNOWN", "c-3": "UNKNOWN"}
    assert {o.reject_reason for o in store.orders()} <= set(RejectReason)
    # A row written before reasons were typed reads as a member too.
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE orders SET reject_reason = 'nope' WHERE client_order_id = 'c-1'")
    assert store.orders(statuses=[OrderStatus.REJECTED])[0].reject_reason is RejectReason.UNKNOWN


def test_orders_filters(store: Store, build) -> None:
    for i, status in enumerate([OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.UNKNOWN]):
        store.record_intent(build.request(f"c-{i}"), 2_000 + i)
        store.upsert_order(build.order(f"c-{i}", status), "run-1")
    store.record_intent(build.request("c-9"), 3_000, run_id="run-other")
    assert [o.client_order_id for o in store.orders()] == ["c-0", "c-1", "c-2", "c-9"]
    assert [o.client_order_id for o in store.orders(run_id="run-1")] == ["c-0", "c-1", "c-2"]
    filled = store.orders(statuses=[OrderStatus.FILLED])
    assert [o.client_order_id for o in filled] == ["c-1"]
    assert [o.client_order_id for o in store.orders(statuses=["OPEN"])] == ["c-0"]
    assert [o.client_order_id for o in store.working_orders()] == ["c-0", "c-2", "c-9"]
    assert store.order("missing") is None


# -- fills, positions, Decimal --------------------------------------------------------


def test_add_fill_exactly_once(store: Store, db_path: Path, build) -> None:
    assert store.add_fill(build.fill("t-1"), "run-1") is True
    assert store.add_fill(build.fill("t-1"), "run-1") is False
    assert store.add_fill(build.fill("t-1", price=Decimal("1")), "run-1") is False
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("SELECT count(*) FROM fills").fetchone()[0] == 1
    finally:
        other.close()
    assert store.fills() == [build.fill("t-1")]


def test_fills_query(store: Store, build) -> None:
    store.add_fill(build.fill("t-1", ts=10), "run-1")
    store.add_fill(build.fill("t-2", ts=20), "run-2")
    store.add_fill(build.fill("t-3", ts=30), "run-1")
    assert [f.trade_id for f in store.fills()] == ["t-1", "t-2", "t-3"]
    assert [f.trade_id for f in store.fills(since_ts=20)] == ["t-2", "t-3"]
    assert [f.trade_id for f in store.fills(run_id="run-1")] == ["t-1", "t-3"]


@pytest.mark.parametrize(
    "text",
    ["0.00000001", "105573.73", "1.50", "0.0000063344238", "-0", "1E+3", "123456789.123456789"],
)
def test_decimal_round_trip_is_exact(store: Store, build, text: str) -> None:
    value = Decimal(text)
    store.add_fill(build.fill("t-x", price=value, size=value, fee=value), "run-1")
    (got,) = store.fills()
    for field in (got.price, got.size, got.fee):
        assert field == value
        assert field.as_tuple() == value.as_tuple()  # same digits and exponent, not just equal
    stored = store.db.execute("SELECT price, typeof(price) FROM fills").fetchone()
    assert stored[1] == "text"
    assert Decimal(stored[0]).as_tuple() == value.as_tuple()


def test_decimal_text_is_readable(store: Store, build) -> None:
    store.add_fill(build.fill("t-1"), "run-1")
    assert store.db.execute("SELECT size, price FROM fills").fetchone() == (
        "0.00000001",
        "105573.73",
    )


def test_positions_save_and_load(store: Store) -> None:
    btc = Position(
        "BTC-USD",
        size=Decimal("-0.00000001"),
        avg_entry_price=Decimal("105573.73"),
        realized_pnl=Decimal("12.345"),
        fees=Decimal("0.0000063344238"),
        funding=Decimal("-0.01"),
        mark_price=Decimal("105600"),
        contract_size=Decimal("0.01"),
        liquidation_price=Decimal("115000.5"),  # the venue's figures of a derivative
        leverage=Decimal("3"),
        initial_margin=Decimal("351.91"),
    )
    eth = Position("ETH-USD", size=Decimal("2"), avg_entry_price=Decimal("3000.5"))
    store.save_positions([eth, btc], "run-1", 7_000)
    assert store.positions() == [btc, eth]
    eth.size = Decimal("0")
    store.save_positions([eth], "run-1", 8_000)  # upsert by symbol; others stay
    assert store.positions() == [btc, eth]
    store.save_positions([], "run-1", 9_000)
    assert len(store.positions()) == 2


# -- event log ----------------------------------------------------------------------------


def test_events_batch_append_and_query(store: Store, build) -> None:
    candle = Candle(
        "BTC-USD", 1, Decimal("1"), Decimal("2"), Decimal("0.5"), Decimal("1.5"), Decimal("10")
    )
    events = [
        RunStarted(1, run_id="run-1", profile="dev", mode="backtest"),
        MarketData(2, event=candle),
        OrderIntent(3, request=build.request("c-1")),
        FillReceived(4, fill=build.fill("t-1"), realized_pnl=Decimal("0")),
        MarketData(5, event=candle),
        RunStopped(6, run_id="run-1", reason="done"),
    ]
    store.append_events("run-1", events)
    store.append_events("run-2", [RunStarted(7, run_id="run-2", profile="dev", mode="live")])
    rows = store.events()
    assert [r.type for r in rows] == [e.type for e in events] + ["run.started"]
    assert [r.ts for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows == sorted(rows, key=lambda r: r.id)
    market = store.events(types="market")
    assert [r.ts for r in market] == [2, 5]
    assert market[0].payload["event"]["close"] == "1.5"
    assert market[0].payload["type"] == "market"
    assert [r.ts for r in store.events(types=["fill", "order.intent"])] == [3, 4]
    intent = store.events(types="order.intent")[0].payload
    assert Decimal(intent["request"]["size"]) == Decimal("0.00000001")  # exact, as text
    assert [r.ts for r in store.events(run_id="run-2")] == [7]
    assert [r.ts for r in store.events(limit=2)] == [1, 2]
    assert [r.ts for r in store.events(limit=2, newest_first=True)] == [7, 6]
    assert [r.ts for r in store.events(since_id=rows[4].id)] == [6, 7]
    assert store.counts("run-1")["events"] == 6


def test_append_events_is_one_transaction(store: Store) -> None:
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    store.append_events("run-1", [RunStarted(i, "run-1", "dev", "x") for i in range(50)])
    store.db.set_trace_callback(None)
    assert sum(s.startswith("BEGIN") for s in statements) == 1
    assert sum(s == "COMMIT" for s in statements) == 1
    assert store.counts()["events"] == 50


def test_a_batch_larger_than_one_insert_is_logged_whole_and_in_order(store: Store) -> None:
    n = 2 * EVENTS_PER_INSERT + 3
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    store.append_events("run-1", [RunStarted(i, "run-1", "dev", "x") for i in range(n)])
    store.db.set_trace_callback(None)
    assert sum(s.startswith("INSERT INTO events") for s in statements) == 3
    assert sum(s == "COMMIT" for s in statements) == 1
    assert [r.ts for r in store.events()] == list(range(n))


def test_an_intent_is_one_statement_committed_before_the_call_returns(
    store: Store, db_path: Path, build
) -> None:
    """It writes the intent file only: the store's file, which the store writer holds
    through its batches, is not touched."""
    intents: list[str] = []
    main: list[str] = []
    store.intents.db.set_trace_callback(intents.append)
    store.db.set_trace_callback(main.append)
    store.record_intent(build.request("c-1"), 5)
    store.intents.db.set_trace_callback(None)
    store.db.set_trace_callback(None)
    assert [s.split()[0] for s in intents] == ["INSERT"]
    assert main == []
    assert not store.intents.db.in_transaction
    assert not store.db.in_transaction
    other = sqlite3.connect(intents_path(db_path))
    try:
        row = other.execute("SELECT count(*) FROM intents WHERE client_order_id = 'c-1'").fetchone()
    finally:
        other.close()
    assert row == (1,)


# -- operator actions, counts, close ------------------------------------------------------


def test_operator_actions(store: Store) -> None:
    first = store.record_operator_action(100, "pause", "exchange maintenance")
    second = store.record_operator_action(200, "resume", "maintenance over")
    assert second > first
    actions = store.operator_actions()
    assert [(a.ts, a.action, a.reason) for a in actions] == [
        (100, "pause", "exchange maintenance"),
        (200, "resume", "maintenance over"),
    ]
    assert [a.id for a in store.operator_actions(since_id=first)] == [second]
    store.mark_operator_action_applied(first, "run-1")
    pending = store.operator_actions(pending_only=True)
    assert [a.action for a in pending] == ["resume"]
    assert store.operator_actions()[0].applied_run_id == "run-1"


def test_counts(store: Store, build) -> None:
    store.record_intent(build.request("c-1"), 1)
    store.record_intent(build.request("c-2"), 2)
    store.upsert_order(build.order("c-2", OrderStatus.FILLED))
    store.add_fill(build.fill("t-1", cid="c-2"))
    store.append_events("run-1", [RunStarted(1, "run-1", "dev", "backtest")])
    assert store.counts() == {
        "runs": 1,
        "orders": {"FILLED": 1, "PENDING": 1},
        "working_orders": 1,
        "fills": 1,
        "events": 1,
    }
    assert store.counts("other") == {
        "runs": 0,
        "orders": {},
        "working_orders": 0,
        "fills": 0,
        "events": 0,
    }


def test_close_is_idempotent_and_final(db_path: Path, build) -> None:
    s = Store(db_path)
    s.start_run("r", "dev", "backtest", 1)
    s.close()
    s.close()
    with pytest.raises(StoreError):
        s.record_intent(build.request("c-1"), 1)
    with pytest.raises(StoreError):
        s.orders()


def test_state_survives_reopen(db_path: Path, build) -> None:
    with Store(db_path) as s:
        s.start_run("r", "dev", "live", 1)
        s.record_intent(build.request("c-1"), 2)
        s.add_fill(build.fill("t-1"))
    with Store(db_path) as s:
        last = s.last_run()
        assert last is not None
        assert not last.finished  # a crashed run stays unfinished: recovery looks for this
        assert [o.client_order_id for o in s.working_orders()] == ["c-1"]
        assert [f.trade_id for f in s.fills()] == ["t-1"]


def test_a_second_process_can_record_an_operator_action(store: Store, db_path: Path) -> None:
    # e.g. `gpt-trader resume --reason ...` while the run holds its own connection
    with Store(db_path) as cli:
        action_id = cli.record_operator_action(500, "resume", "checked the exchange")
    assert [a.id for a in store.operator_actions(pending_only=True)] == [action_id]


def test_products_are_recorded_for_readers_of_the_store(tmp_path: Path) -> None:
    from gpt_trader.sim.products import default_products

    store = Store(tmp_path / "gpt_trader.db")
    listed = default_products(["BTC-USD", "DOGE-USD"])
    store.save_products(listed.values(), 1)
    store.save_products(default_products(["BTC-USD"]).values(), 2)  # a later run's listing
    recorded = store.products()
    assert set(recorded) == {"BTC-USD", "DOGE-USD"}
    for symbol, product in listed.items():
        assert recorded[symbol] == product  # every field a report quantises with
    store.close()
