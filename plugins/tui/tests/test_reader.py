"""The dashboard's data, read from real store files: freshness levels, connection health,
execution health, pause state, a finished run, and tailing the log as it grows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import (
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    money,
)
from gpt_trader.domain.events import (
    ComponentFailed,
    EntriesPaused,
    EquityMarked,
    MarketData,
    OrderIntent,
    OrderRejected,
    OrderUpdated,
    RunStopped,
)
from gpt_trader.monitor.reader import CRITICAL, FRESH, STALE, WARN, StoreReader, freshness_level
from gpt_trader.store import Store
from tui_support import NOW, NS, RUN_ID, build_store


def append(state_dir: Path, *events: object) -> None:
    with Store(state_dir / "gpt_trader.db") as store:
        store.append_events(RUN_ID, list(events))  # type: ignore[arg-type]


def test_freshness_levels() -> None:
    assert freshness_level(0) == FRESH
    assert freshness_level(9.9) == FRESH
    assert freshness_level(10) == STALE
    assert freshness_level(30) == STALE
    assert freshness_level(30.1) == CRITICAL
    assert freshness_level(1, connection_down=True) == CRITICAL


def test_fresh_store(tmp_path: Path) -> None:
    data = StoreReader(build_store(tmp_path / "bot", "fresh")).read(NOW)
    assert data.run is not None
    assert not data.run.finished
    assert data.trading_state == "ACTIVE"
    assert [(f.symbol, f.level) for f in data.freshness] == [
        ("BTC-USD", FRESH),
        ("ETH-USD", FRESH),
        ("SOL-USD", FRESH),
    ]
    assert data.banners() == []
    positions = {p.symbol: p for p in data.positions}
    assert positions["BTC-USD"].size == Decimal("0.02")
    assert positions["BTC-USD"].realized == Decimal("8.00")
    assert positions["ETH-USD"].mark == Decimal("3350.25")
    assert data.pnl["fees"] == Decimal("3.00")
    assert data.pnl["net"] == data.pnl["realized"] + data.pnl["unrealized"] - data.pnl["fees"]
    assert data.pnl_series == [-0.6, -1.2, 6.2, 5.6, 5.0]
    assert [o.client_order_id[-6:] for o in data.open_orders] == ["000006"]
    assert len(data.fills) == 5
    assert data.execution is not None
    assert data.execution.success_rate == 1.0
    assert data.execution.p95_latency_s == pytest.approx(0.2)
    assert data.guards == {"max_position": ("RECOVERABLE", "BTC-USD 0.03 > max 0.02")}


def test_stale_and_critical_data(tmp_path: Path) -> None:
    data = StoreReader(build_store(tmp_path / "bot", "stale")).read(NOW)
    levels = {f.symbol: f.level for f in data.freshness}
    assert levels == {"BTC-USD": FRESH, "ETH-USD": STALE, "SOL-USD": CRITICAL}
    assert data.banners() == [
        (CRITICAL, "DATA CRITICAL SOL-USD 75s; STALE ETH-USD 18s"),
        (WARN, "ENTRIES PAUSED: coinbase: market data connection silent"),
    ]


def test_a_lost_connection_makes_every_symbol_critical_until_it_returns(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    reader = StoreReader(bot)
    append(bot, ComponentFailed(NOW - NS, "feed:coinbase.market", "disconnected: 1006"))
    data = reader.read(NOW)
    assert {f.level for f in data.freshness} == {CRITICAL}
    assert data.connections == {"feed:coinbase.market": "disconnected"}
    assert "CONNECTION DOWN: feed:coinbase.market" in [t for _, t in data.banners()]
    append(bot, ComponentFailed(NOW, "feed:coinbase.market", "reconnected after 1.0s"))
    assert {f.level for f in reader.read(NOW).freshness} == {FRESH}


def test_the_reader_tails_new_market_data(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    reader = StoreReader(bot)
    later = NOW + 20 * NS
    assert {f.level for f in reader.read(later).freshness} == {STALE}
    price = Decimal("95000")
    append(bot, MarketData(later, Ticker("BTC-USD", later, price, price, price)))
    data = reader.read(later)
    btc = next(f for f in data.freshness if f.symbol == "BTC-USD")
    assert btc.level == FRESH
    assert btc.price == price
    assert next(p for p in data.positions if p.symbol == "BTC-USD").mark == price


def test_halted_state_and_its_alert(tmp_path: Path) -> None:
    data = StoreReader(build_store(tmp_path / "bot", "halted")).read(NOW)
    assert data.trading_state == "HALTED"
    assert data.banners()[0] == (
        CRITICAL,
        "TRADING HALTED: daily_loss: daily loss 12.40 USD exceeds limit 10 USD",
    )
    assert data.trips[0].guard == "daily_loss"
    assert data.alerts[0].source == "circuit_breaker_open"


def test_execution_health_from_venue_failures(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    events: list[object] = []
    for i in range(10):
        request = OrderRequest(
            client_order_id=f"x{i}",
            symbol="BTC-USD",
            side=Side.BUY,
            size=Decimal("0.01"),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
        )
        events.append(OrderIntent(NOW, request))
        if i < 4:
            events.append(OrderRejected(NOW, request, "INSUFFICIENT_FUND", "venue"))
        else:
            order = Order.from_request(request, NOW)
            order.status = OrderStatus.FILLED
            events.append(OrderUpdated(NOW + 2 * NS, order))
    append(bot, *events)
    data = StoreReader(bot).read(NOW)
    assert data.execution is not None
    assert data.execution.success_rate == pytest.approx(12 / 16)
    assert data.execution.level == CRITICAL
    assert any("EXECUTION CRITICAL: 75%" in t for _, t in data.banners())
    assert [a.source for a in data.alerts[:4]] == ["venue"] * 4


def test_a_pause_is_the_kernels_and_pending_actions_come_from_the_operator_table(
    tmp_path: Path,
) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    with Store(bot / "gpt_trader.db") as store:
        applied = store.record_operator_action(NOW, "pause", "news at 14:00")
        store.mark_operator_action_applied(applied, RUN_ID)
        store.record_operator_action(NOW, "cancel-all", "tidy up")
    reader = StoreReader(bot)
    data = reader.read(NOW)
    assert not data.entries_paused, "recorded is not applied: the kernel says when it pauses"
    assert data.pending_actions == ["cancel-all #2"]
    append(bot, EntriesPaused(NOW, True, "operator pause: news at 14:00"))
    data = reader.read(NOW)
    assert data.entries_paused
    assert data.pause_reason == "operator pause: news at 14:00"
    assert ("warn", "ENTRIES PAUSED: operator pause: news at 14:00") in data.banners()
    append(bot, EntriesPaused(NOW, False, ""))
    data = reader.read(NOW)
    assert not data.entries_paused
    assert data.banners() == []


def test_a_finished_run_shows_its_summary(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    summary = {
        "trading_state": "REDUCE_ONLY",
        "pnl": {"realized": "8", "unrealized": "1", "fees": "3", "net": "6"},
        "equity": "100006",
    }
    with Store(bot / "gpt_trader.db") as store:
        store.append_events(RUN_ID, [RunStopped(NOW, RUN_ID, "crashed", summary)])
        store.finish_run(RUN_ID, NOW, "crashed", summary)
    data = StoreReader(bot).read(NOW + 120 * NS)
    assert data.run is not None
    assert data.run.finished
    assert data.pnl["net"] == Decimal("6")
    assert data.equity == Decimal("100006")
    assert data.trading_state == "REDUCE_ONLY"
    banners = data.banners()
    assert banners[0] == (CRITICAL, "BOT STOPPED (crashed) at 12:00:00")
    assert not any(t.startswith("DATA") for _, t in banners), "a stopped bot has no live data"


def test_a_running_bot_shows_the_equity_it_last_recorded(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "fresh")
    reader = StoreReader(bot)
    assert reader.read(NOW).equity is None  # nothing recorded yet: no figure, not a guess
    append(bot, EquityMarked(NOW - 9 * NS, Decimal("99000"), Decimal("100001.234"), "USD"))
    append(bot, EquityMarked(NOW - 4 * NS, Decimal("99000"), Decimal("100004.567"), "USD"))
    data = reader.read(NOW)
    assert data.run is not None
    assert not data.run.finished
    assert data.equity == Decimal("100004.57")  # on the currency's increment
    assert data.equity_ts == NOW - 4 * NS


def test_no_store_is_an_error_line_not_a_crash(tmp_path: Path) -> None:
    data = StoreReader(tmp_path / "nothing").read(NOW)
    assert data.run is None
    assert "no store" in data.error
    assert not (tmp_path / "nothing" / "gpt_trader.db").exists(), "the reader must create nothing"


def test_funding_payments_count_in_the_running_pnl(tmp_path: Path) -> None:
    from gpt_trader.domain import FundingPayment
    from gpt_trader.domain.events import FundingReceived
    from gpt_trader.store.store import encode_events

    state_dir = build_store(tmp_path / "bot", "fresh")
    before = StoreReader(state_dir).read(NOW)
    payment = FundingPayment(
        "BTC-USD:1",
        "BTC-USD",
        NOW - NS,
        Decimal("0.0001"),
        Decimal("100000"),
        Decimal("0.02"),
        Decimal(1),
        Decimal("-0.20"),
        "USD",
    )
    with Store(state_dir / "gpt_trader.db") as store:
        event = FundingReceived(NOW - NS, payment)
        store.write_batch(RUN_ID, encode_events(RUN_ID, [event]), funding=[payment])
    reader = StoreReader(state_dir)
    data = reader.read(NOW)
    assert data.pnl["funding"] == Decimal("-0.20")
    assert data.pnl["net"] == before.pnl["net"] - Decimal("0.20")
    assert data.pnl_series[-1] == pytest.approx(before.pnl_series[-1] - 0.2)


def test_figures_are_shown_on_the_recorded_products_increments() -> None:
    from gpt_trader.monitor.increments import Increments
    from gpt_trader.sim.products import default_products

    inc = Increments()
    inc.products = default_products(["BTC-USD", "DOGE-USD"])
    assert money.text(inc.price("BTC-USD", Decimal("94000.125"))) == "94000.12"  # half-even
    assert money.text(inc.size("BTC-USD", Decimal("0.5"))) == "0.50000000"
    assert money.text(inc.price("DOGE-USD", Decimal("0.123456"))) == "0.12346"
    assert money.text(inc.price("ETH-USD", Decimal("3300.123"))) == "3300.123", "unknown: as is"
    assert money.text(inc.cash(Decimal("-0.612275751208"), "BTC-USD")) == "-0.61"
    inc.quote = "JPY"
    assert money.text(inc.cash(Decimal("1234.5"))) == "1234"
