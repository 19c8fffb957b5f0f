"""The metrics sink and exporter: a dev-like run scraped over HTTP while it trades, the
families fed by venue telemetry events, and where the port comes from."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import OrderStatus, RejectReason, Severity, TradingState
from gpt_trader.domain.events import OrderUpdated
from gpt_trader_ops.metrics import PORT_ENV, MetricsParams, MetricsSink, resolve_port
from ops_support import (
    T0,
    connection,
    dev_config,
    drive,
    failed,
    fill,
    free_port,
    intent,
    plugin_manager,
    rejected,
    rest_call,
    state_change,
    trip,
    until,
    updated,
)
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def names(samples: Samples) -> set[str]:
    return {n for n, _ in samples}


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return parse(resp.read().decode())


async def test_scraping_a_trading_dev_profile_twice_shows_the_families_change(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = dev_config(sinks=[{"use": "metrics", "port": port, "refresh_s": 0.05}], pace_s=0.002)
    runtime = await assemble(config, plugin_manager(), tmp_path)
    await start(runtime)
    kernel = runtime.kernel
    url = f"http://127.0.0.1:{port}/metrics"
    assert runtime.extra["metrics_url"] == url
    stop = asyncio.Event()
    driver = asyncio.create_task(drive(runtime, 20_000, stop))
    try:
        await until(lambda: kernel.summary()["fills"] >= 2)
        first = await asyncio.to_thread(scrape, url)
        seen = kernel.summary()["fills"]
        await until(lambda: kernel.summary()["fills"] >= seen + 4)
        calls = total(first, "gpt_trader_broker_calls_total")
        scraped: list[Samples] = []

        def refreshed() -> bool:
            # The kernel-state gauges move on the sink's own timer, not with the events.
            scraped.append(scrape(url))
            return total(scraped[-1], "gpt_trader_broker_calls_total") > calls

        await until(refreshed)
        second = scraped[-1]
    finally:
        stop.set()
        await driver
        await finish(runtime, "signal")

    for family in (
        "gpt_trader_events_total",
        "gpt_trader_orders",
        "gpt_trader_fills_total",
        "gpt_trader_pnl",
        "gpt_trader_equity",
        "gpt_trader_exposure",
        "gpt_trader_trading_state",
        "gpt_trader_feed_staleness_seconds",
        "gpt_trader_execution_success_ratio",
        "gpt_trader_run_info",
    ):
        assert family in names(second), family
    assert total(second, "gpt_trader_events_total", type="market") > total(
        first, "gpt_trader_events_total", type="market"
    )
    assert total(second, "gpt_trader_fills_total") > total(first, "gpt_trader_fills_total")
    assert total(second, "gpt_trader_orders", status="FILLED") > total(
        first, "gpt_trader_orders", status="FILLED"
    )
    assert total(second, "gpt_trader_fill_fees_total") > total(first, "gpt_trader_fill_fees_total")
    assert total(second, "gpt_trader_pnl", kind="fees") > total(
        first, "gpt_trader_pnl", kind="fees"
    )
    assert total(second, "gpt_trader_broker_calls_total") > total(
        first, "gpt_trader_broker_calls_total"
    )
    assert total(second, "gpt_trader_trading_state", gpt_trader_trading_state="ACTIVE") == 1
    staleness = {
        dict(lab)["symbol"] for n, lab in second if n == "gpt_trader_feed_staleness_seconds"
    }
    assert staleness == {"BTC-USD", "ETH-USD", "SOL-USD"}
    info = [dict(lab) for n, lab in second if n == "gpt_trader_run_info"]
    assert info[0]["run_id"] == runtime.run_id
    assert info[0]["profile"] == "devlike"
    # shutdown stopped the server
    with pytest.raises(urllib.error.URLError):
        await asyncio.to_thread(scrape, url)


async def test_the_environment_port_serves_metrics_without_a_sink_in_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv(PORT_ENV, str(port))
    runtime = await assemble(dev_config(), plugin_manager(), tmp_path)
    await start(runtime)
    try:
        await drive(runtime, 300)
        samples = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
    finally:
        await finish(runtime, "max_events")
    assert total(samples, "gpt_trader_events_total", type="market") == 300
    assert total(samples, "gpt_trader_fills_total") > 0


async def test_no_port_no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORT_ENV, raising=False)
    runtime = await assemble(dev_config(sinks=[{"use": "metrics"}]), plugin_manager(), tmp_path)
    await start(runtime)
    ops = runtime.extra["gpt_trader_ops"]
    await finish(runtime, "signal")
    assert ops.exporter is None
    assert "metrics_url" not in runtime.extra
    assert b"gpt_trader_run_info" in ops.metrics.scrape()


def test_port_precedence_and_bad_values() -> None:
    assert resolve_port(9100, {"metrics_port": 9200}, {PORT_ENV: "9300"}) == 9100
    assert resolve_port(None, {"metrics_port": 9200}, {PORT_ENV: "9300"}) == 9200
    assert resolve_port(None, {}, {PORT_ENV: "9300"}) == 9300
    assert resolve_port(None, {}, {}) is None
    with pytest.raises(ValueError, match="not a port"):
        resolve_port(None, {}, {PORT_ENV: "nine"})
    with pytest.raises(ValueError, match="out of range"):
        resolve_port(None, {}, {PORT_ENV: "70000"})


def test_event_families_from_orders_guards_and_venue_telemetry() -> None:
    sink = MetricsSink(MetricsParams(), options={}, clock=lambda: T0)
    events = [
        intent("c1"),
        updated("c1", OrderStatus.OPEN),
        updated("c1", OrderStatus.FILLED),
        fill(),
        intent("c2"),
        updated("c2", OrderStatus.REJECTED),
        rejected("c2"),
        trip("max_drawdown", Severity.CRITICAL, TradingState.REDUCE_ONLY),
        trip("daily_loss", Severity.WARN, TradingState.REDUCE_ONLY),
        state_change(TradingState.HALTED),
        connection("coinbase.ws", "disconnected", "reset"),
        connection("coinbase.ws", "reconnected"),
        failed("feed:coinbase.market", "reconnected after 1.2s"),
        rest_call("GET", "/api/v3/brokerage/orders/historical/1234", 200, 0.08, 27, 30),
        rest_call("POST", "/api/v3/brokerage/orders", 503, 1.7, 26, 30, retries=2),
    ]
    for event in events:
        sink.handle(event)
    s = parse(sink.scrape().decode())
    assert total(s, "gpt_trader_orders", status="FILLED") == 1
    assert total(s, "gpt_trader_orders", status="OPEN") == 0
    assert total(s, "gpt_trader_orders", status="REJECTED") == 1
    assert total(s, "gpt_trader_order_rejections_total", source="venue") == 1
    assert total(s, "gpt_trader_fills_total", symbol="BTC-USD", side="BUY") == 1
    assert total(s, "gpt_trader_fill_notional_total", symbol="BTC-USD") == 50
    assert total(s, "gpt_trader_guard_trips_total", guard="max_drawdown", severity="CRITICAL") == 1
    assert total(s, "gpt_trader_guard_trips_total", guard="daily_loss", severity="WARN") == 1
    assert total(s, "gpt_trader_trading_state", gpt_trader_trading_state="HALTED") == 1
    assert total(s, "gpt_trader_ws_reconnects_total", component="coinbase.ws") == 1
    assert total(s, "gpt_trader_ws_reconnects_total", component="feed:coinbase.market") == 1
    assert total(s, "gpt_trader_connection_up", component="coinbase.ws") == 1
    assert (
        total(s, "gpt_trader_rest_requests_total", route="/api/v3/brokerage/orders/historical/{id}")
        == 1
    )
    assert total(s, "gpt_trader_rest_requests_total", status="503") == 1
    assert total(s, "gpt_trader_rest_latency_seconds_count") == 2
    assert (
        total(
            s, "gpt_trader_rest_latency_seconds_bucket", route="/api/v3/brokerage/orders", le="1.0"
        )
        == 0
    )
    assert (
        total(
            s, "gpt_trader_rest_latency_seconds_bucket", route="/api/v3/brokerage/orders", le="2.5"
        )
        == 1
    )
    assert total(s, "gpt_trader_rest_retries_total") == 2
    assert total(s, "gpt_trader_rate_limit_remaining") == 26
    assert total(s, "gpt_trader_rate_limit_limit") == 30
    assert total(s, "gpt_trader_execution_success_ratio") == 0.5
    assert total(s, "gpt_trader_component_failures_total", component="feed:coinbase.market") == 1
    assert total(s, "gpt_trader_events_total", type="rest.call") == 2


def test_venue_rejections_are_counted_once_per_order_by_typed_reason() -> None:
    sink = MetricsSink(MetricsParams(), options={}, clock=lambda: T0)
    funds, cross, odd = RejectReason.INSUFFICIENT_FUNDS, RejectReason.POST_ONLY_WOULD_CROSS, "x"
    for cid, reason in (("a", funds), ("b", funds), ("c", cross), ("d", odd)):
        sink.handle(intent(cid))
        sink.handle(updated(cid, OrderStatus.REJECTED, reject_reason=reason))
        sink.handle(rejected(cid, reason=reason))  # the kernel's echo of the same refusal
        sink.handle(updated(cid, OrderStatus.REJECTED, reject_reason=reason))  # repeated
    sink.handle(rejected("g", source="guard:max_position", reason="over the limit"))
    s = parse(sink.scrape().decode())
    assert total(s, "gpt_trader_venue_rejections_total", reason="INSUFFICIENT_FUNDS") == 2
    assert total(s, "gpt_trader_venue_rejections_total", reason="POST_ONLY_WOULD_CROSS") == 1
    assert total(s, "gpt_trader_venue_rejections_total", reason="UNKNOWN") == 1  # never "x"
    assert total(s, "gpt_trader_venue_rejections_total") == 4  # the guard's veto is no venue's
    assert total(s, "gpt_trader_order_rejections_total", source="venue") == 4


def test_a_dropped_connection_reads_zero_until_it_returns() -> None:
    sink = MetricsSink()
    sink.handle(failed("coinbase.ws", "disconnected: 1006"))
    assert (
        total(parse(sink.scrape().decode()), "gpt_trader_connection_up", component="coinbase.ws")
        == 0
    )
    sink.handle(connection("coinbase.ws", "connected"))
    assert (
        total(parse(sink.scrape().decode()), "gpt_trader_connection_up", component="coinbase.ws")
        == 1
    )


async def test_a_run_option_port_of_zero_serves_on_a_free_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PORT_ENV, raising=False)
    runtime = await assemble(dev_config(), plugin_manager(), tmp_path)
    runtime.extra["options"] = {"metrics_port": 0}  # what `run --metrics-port 0` would leave
    await start(runtime)
    try:
        url = runtime.extra["metrics_url"]
        assert not url.endswith(":0/metrics")
        samples = await asyncio.to_thread(scrape, url)
    finally:
        await finish(runtime, "signal")
    assert total(samples, "gpt_trader_trading_state", gpt_trader_trading_state="ACTIVE") == 1


async def test_orders_count_once_per_status_and_the_money_gauges_match_the_summary(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = dev_config(sinks=[{"use": "metrics", "port": port, "refresh_s": 0.02}])
    runtime = await assemble(config, plugin_manager(), tmp_path)
    await start(runtime)
    kernel = runtime.kernel
    try:
        await drive(runtime, 400)
        filled = [o for o in kernel.orders.values() if o.status is OrderStatus.FILLED]
        assert len(filled) >= 4
        # The same transition told again (a replayed venue message, an adapter's report).
        for order in (filled[0], filled[-1], filled[-1]):
            kernel.emit(OrderUpdated(kernel.now, order.copy()))
        metrics = runtime.extra["gpt_trader_ops"].metrics
        metrics.refresh()
        metrics.refresh()  # a second refresh must not count anything twice
        samples = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
        summary = kernel.summary()
    finally:
        await finish(runtime, "max_events")

    assert summary["orders_by_status"] == {"FILLED": len(filled)}
    assert total(samples, "gpt_trader_orders", status="FILLED") == len(filled)
    assert total(samples, "gpt_trader_orders") == summary["orders"]
    assert total(samples, "gpt_trader_order_updates_total", status="FILLED") == len(filled)
    # Money as the summary reports it: to the quote currency's cent, net with funding.
    for kind in ("realized", "unrealized", "fees", "funding", "net"):
        scraped = Decimal(repr(total(samples, "gpt_trader_pnl", kind=kind)))
        assert scraped == Decimal(summary["pnl"][kind]), kind
    assert Decimal(repr(total(samples, "gpt_trader_equity"))) == Decimal(summary["equity"])
    for position in summary["positions"]:
        size = total(samples, "gpt_trader_position_size", symbol=position["symbol"])
        assert Decimal(repr(size)) == Decimal(position["size"])
    for name, value in samples.items():
        if name[0] in ("gpt_trader_exposure", "gpt_trader_fill_notional_total"):
            assert Decimal(repr(value)) == Decimal(repr(value)).quantize(Decimal("0.01")), name
