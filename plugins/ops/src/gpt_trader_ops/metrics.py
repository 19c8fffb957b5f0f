"""Prometheus metrics: the ``metrics`` sink and the exporter that serves them.

Every metric lives in the sink's own :class:`~prometheus_client.CollectorRegistry`, never in
the process-global one, so two runs (or two tests) in one process do not collide. The sink
updates event-driven families in ``handle`` (on the kernel's loop); once the ``startup`` hook
has bound it to the kernel, :meth:`MetricsSink.refresh` also copies state the events do not
carry (P&L, exposure, trading state, staleness, broker counters). The exporter is a
``prometheus_client`` HTTP server on 127.0.0.1 in a daemon thread; it only reads.

Money and sizes are quantised before they become a sample, as the kernel's summary
reports them (:mod:`gpt_trader.domain.money`): P&L, equity, exposure, notional and fees to
the quote currency's increment, position sizes to the product's base increment. No label
carries a figure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from gpt_trader.components import BuildContext
from gpt_trader.domain import Product, money
from gpt_trader.execution_stats import ExecutionStats
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    start_http_server,
)
from prometheus_client import Enum as EnumMetric
from prometheus_client.core import CounterMetricFamily

from gpt_trader_ops.conventions import (
    CONNECTION_STATUS,
    DISCONNECTED,
    RECONNECTED,
    REST_CALL,
    connection_change,
    enum_name,
    event_type,
    field,
    route,
    venue_rejection,
)
from gpt_trader_ops.port import PORT_ENV, PORT_OPTION
from gpt_trader_ops.settings import MetricsParams

log = logging.getLogger("gpt_trader.ops.metrics")

STATES = ["ACTIVE", "REDUCE_ONLY", "HALTED"]
PNL_KINDS = ("realized", "unrealized", "fees", "funding", "net")
NS = 1_000_000_000
ZERO = Decimal(0)
_TERMINAL = frozenset({"FILLED", "CANCELLED", "EXPIRED", "REJECTED"})
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def resolve_port(
    explicit: int | None,
    options: dict[str, Any] | None = None,
    env: dict[str, str] | os._Environ[str] | None = None,
) -> int | None:
    """The metrics port: an explicit setting, the run option, then the environment."""
    if explicit is not None:
        return explicit
    if options:
        value = options.get(PORT_OPTION)
        if value is not None:
            return int(value)
    raw = (os.environ if env is None else env).get(PORT_ENV, "").strip()
    if raw:
        try:
            port = int(raw)
        except ValueError:
            raise ValueError(f"{PORT_ENV}={raw!r} is not a port number") from None
        if not 0 <= port <= 65535:
            raise ValueError(f"{PORT_ENV}={raw!r} is out of range")
        return port
    return None


class MoneyCounter:
    """A counter of money by symbol, summed as Decimals: a float counter drifts off the
    cent after a few hundred additions (3299.5299999999997); this one is exact."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self._totals: dict[str, Decimal] = {}
        registry.register(self)

    def inc(self, symbol: str, amount: Decimal) -> None:
        self._totals[symbol] = self._totals.get(symbol, Decimal(0)) + amount

    def collect(self) -> list[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=["symbol"])
        for symbol, total in sorted(dict(self._totals).items()):  # a copy: scraped off-loop
            family.add_metric([symbol], float(total))
        return [family]


class Families:
    """Every metric family, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.events = Counter(
            "gpt_trader_events", "Domain events handled, by type.", ["type"], registry=r
        )
        self.orders = Gauge(
            "gpt_trader_orders", "Orders of this run by current status.", ["status"], registry=r
        )
        self.order_updates = Counter(
            "gpt_trader_order_updates",
            "Order status transitions, by new status (each order once per status).",
            ["status"],
            registry=r,
        )
        self.rejections = Counter(
            "gpt_trader_order_rejections",
            "Order requests stopped before or at the venue, by source.",
            ["source"],
            registry=r,
        )
        self.venue_rejections = Counter(
            "gpt_trader_venue_rejections",
            "Orders the venue refused (at preview, submit or later), by typed reason.",
            ["reason"],
            registry=r,
        )
        self.fills = Counter(
            "gpt_trader_fills",
            "Fills received, by symbol and side.",
            ["symbol", "side"],
            registry=r,
        )
        self.fill_notional = MoneyCounter(
            "gpt_trader_fill_notional", "Quote value filled, by symbol.", registry=r
        )
        self.fill_fees = MoneyCounter(
            "gpt_trader_fill_fees", "Fees paid on fills (quote), by symbol.", registry=r
        )
        self.pnl = Gauge(
            "gpt_trader_pnl",
            "P&L in the quote currency: realized, unrealized, fees, funding, net.",
            ["kind"],
            registry=r,
        )
        self.equity = Gauge("gpt_trader_equity", "Equity in the quote currency.", registry=r)
        self.exposure = Gauge(
            "gpt_trader_exposure",
            "Absolute position value (quote), by symbol.",
            ["symbol"],
            registry=r,
        )
        self.gross_exposure = Gauge(
            "gpt_trader_exposure_gross", "Sum of absolute position values (quote).", registry=r
        )
        self.position = Gauge(
            "gpt_trader_position_size",
            "Signed position size (base), by symbol.",
            ["symbol"],
            registry=r,
        )
        self.guard_trips = Counter(
            "gpt_trader_guard_trips",
            "Guard results at warn or worse, by guard and severity.",
            ["guard", "severity"],
            registry=r,
        )
        self.trading_state = EnumMetric(
            "gpt_trader_trading_state", "The kernel's trading state.", states=STATES, registry=r
        )
        self.entries_paused = Gauge(
            "gpt_trader_entries_paused", "1 while an operator paused entries.", registry=r
        )
        self.staleness = Gauge(
            "gpt_trader_feed_staleness_seconds",
            "Age of the last market data, by symbol (kernel clock).",
            ["symbol"],
            registry=r,
        )
        self.connection_up = Gauge(
            "gpt_trader_connection_up",
            "1 while a venue connection is up.",
            ["component"],
            registry=r,
        )
        self.reconnects = Counter(
            "gpt_trader_ws_reconnects",
            "WebSocket reconnects, by component.",
            ["component"],
            registry=r,
        )
        self.rest_latency = Histogram(
            "gpt_trader_rest_latency_seconds",
            "REST request latency, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rest_requests = Counter(
            "gpt_trader_rest_requests",
            "REST requests, by route and HTTP status (0: no response).",
            ["route", "status"],
            registry=r,
        )
        self.rest_retries = Counter(
            "gpt_trader_rest_retries", "REST retries, by route.", ["route"], registry=r
        )
        self.rate_limit_remaining = Gauge(
            "gpt_trader_rate_limit_remaining",
            "Requests left in the venue's rate-limit window (last response).",
            registry=r,
        )
        self.rate_limit_limit = Gauge(
            "gpt_trader_rate_limit_limit", "The venue's rate-limit window size.", registry=r
        )
        self.component_failures = Counter(
            "gpt_trader_component_failures",
            "Components disabled or failing, by component.",
            ["component"],
            registry=r,
        )
        self.broker_calls = Counter(
            "gpt_trader_broker_calls", "Order submissions sent to the broker.", registry=r
        )
        self.broker_errors = Counter(
            "gpt_trader_broker_errors", "Order submissions that raised.", registry=r
        )
        self.success_ratio = Gauge(
            "gpt_trader_execution_success_ratio",
            "Share of the last submissions the venue accepted (1 before any).",
            registry=r,
        )
        self.latency_p95 = Gauge(
            "gpt_trader_execution_latency_p95_seconds",
            "95th percentile of recent REST (or submit-to-ack) latency.",
            registry=r,
        )
        self.last_event = Gauge(
            "gpt_trader_last_event_timestamp_seconds",
            "Time of the last event (kernel clock).",
            registry=r,
        )
        self.run = Info("gpt_trader_run", "The run being exported.", registry=r)


class MetricsSink:
    """The ``metrics`` sink: Prometheus families updated from every domain event."""

    def __init__(
        self,
        params: MetricsParams | None = None,
        *,
        options: dict[str, Any] | None = None,
        clock: Callable[[], int] = time.time_ns,
        products: Mapping[str, Product] | None = None,
    ) -> None:
        self.params = params or MetricsParams()
        self.products: Mapping[str, Product] = products or {}
        self.quote = "USD"  # the run's quote currency once bound to its kernel
        self.port = resolve_port(self.params.port, options)
        self.registry = CollectorRegistry(auto_describe=True)
        self.f = Families(self.registry)
        self.stats = ExecutionStats()
        self.kernel: Any = None
        self.clock = clock
        # Each order's current status, and every (order, status) it has been counted in:
        # a transition is counted once, however often (and by whom) it is told.
        self._order_status: dict[str, str] = {}
        self._transitions: set[tuple[str, str]] = set()
        self._event_counters: dict[str, Any] = {}
        self._last_market: dict[str, int] = {}
        self._broker_calls = 0
        self._broker_errors = 0
        self.f.trading_state.state("ACTIVE")
        self.f.success_ratio.set(1)

    # -- events --------------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        f = self.f
        kind = event_type(event)
        counter = self._event_counters.get(kind)
        if counter is None:
            counter = self._event_counters[kind] = f.events.labels(kind)
        counter.inc()
        ts = field(event, "ts")
        if isinstance(ts, int):
            f.last_event.set(ts / NS)
        if kind == "market":
            market = field(event, "event")
            symbol = str(field(market, "symbol", ""))
            close_ts = getattr(market, "close_ts", None)
            self._last_market[symbol] = int(
                close_ts if close_ts is not None else field(market, "ts", 0)
            )
        elif kind == "order.intent":
            request = field(event, "request")
            self._order_moved(str(field(request, "client_order_id", "")), "PENDING")
        elif kind == "order.updated":
            order = field(event, "order")
            status = enum_name(field(order, "status"))
            if self._order_moved(str(field(order, "client_order_id", "")), status):
                f.order_updates.labels(status).inc()
                refused = venue_rejection(event)
                if refused is not None:  # once per order: the update, not the submit's echo
                    f.venue_rejections.labels(refused.value).inc()
        elif kind == "order.rejected":
            f.rejections.labels(str(field(event, "source", ""))).inc()
        elif kind == "fill":
            fill = field(event, "fill")
            symbol = str(field(fill, "symbol", ""))
            f.fills.labels(symbol, enum_name(field(fill, "side"))).inc()
            notional = abs(_dec(field(fill, "price")) * _dec(field(fill, "size")))
            f.fill_notional.inc(symbol, self._cash(notional, symbol))
            f.fill_fees.inc(symbol, max(self._cash(_dec(field(fill, "fee")), symbol), ZERO))
            self._refresh_book()
        elif kind == "guard.trip":
            result = field(event, "result")
            f.guard_trips.labels(
                str(field(result, "guard", "")), enum_name(field(result, "severity"))
            ).inc()
            f.trading_state.state(enum_name(field(event, "state_after")) or "ACTIVE")
        elif kind == "trading_state":
            f.trading_state.state(enum_name(field(event, "new")) or "ACTIVE")
        elif kind == "component.failed":
            f.component_failures.labels(str(field(event, "component", ""))).inc()
        elif kind == "run.started":
            f.run.info(
                {
                    "run_id": str(field(event, "run_id", "")),
                    "profile": str(field(event, "profile", "")),
                    "mode": str(field(event, "mode", "")),
                }
            )
        elif kind == "run.stopped":
            self._from_summary(field(event, "summary") or {})
        elif kind == REST_CALL:
            self._rest_call(event)
        if kind in (CONNECTION_STATUS, "component.failed"):
            change = connection_change(event)
            if change is not None:
                component, status = change
                f.connection_up.labels(component).set(0 if status == DISCONNECTED else 1)
                if status == RECONNECTED:
                    f.reconnects.labels(component).inc()
        if self.stats.observe(event) is not None or kind == REST_CALL:
            self._execution()

    def _order_moved(self, cid: str, status: str) -> bool:
        """Move ``cid`` to ``status`` in the orders gauge; False when that transition was
        counted already or the order is final (a stale or repeated message)."""
        old = self._order_status.get(cid)
        if (cid, status) in self._transitions or old in _TERMINAL:
            return False
        self._transitions.add((cid, status))
        if old is not None:
            self.f.orders.labels(old).dec()
        self.f.orders.labels(status).inc()
        self._order_status[cid] = status
        return True

    def _cash(self, value: Decimal, symbol: str | None = None) -> Decimal:
        """``value`` in ``symbol``'s quote currency (else the run's), on its increment."""
        product = self.products.get(symbol) if symbol is not None else None
        quote = product.quote if product is not None else self.quote
        return money.quantize(value, money.currency_increment(quote))

    def _size(self, value: Decimal, symbol: str) -> Decimal:
        product = self.products.get(symbol)
        return money.quantize(value, product.base_increment) if product else value

    def _rest_call(self, event: Any) -> None:
        f = self.f
        name = route(str(field(event, "path", "")))
        f.rest_requests.labels(name, str(field(event, "status", 0))).inc()
        latency = field(event, "latency_s")
        if isinstance(latency, int | float) and latency >= 0:
            f.rest_latency.labels(name).observe(float(latency))
        retries = field(event, "retries", 0)
        if isinstance(retries, int) and retries > 0:
            f.rest_retries.labels(name).inc(retries)
        remaining = field(event, "rate_limit_remaining")
        if isinstance(remaining, int | float):
            f.rate_limit_remaining.set(remaining)
        limit = field(event, "rate_limit_limit")
        if isinstance(limit, int | float):
            f.rate_limit_limit.set(limit)

    def _execution(self) -> None:
        rate = self.stats.success_rate
        self.f.success_ratio.set(1 if rate is None else rate)
        p95 = self.stats.p95_latency_s
        if p95 is not None:
            self.f.latency_p95.set(p95)

    def _from_summary(self, summary: dict[str, Any]) -> None:
        pnl = summary.get("pnl") or {}
        for kind in PNL_KINDS:
            if kind in pnl:
                self.f.pnl.labels(kind).set(_num(pnl[kind]))
        if "equity" in summary:
            self.f.equity.set(_num(summary["equity"]))
        state = summary.get("trading_state")
        if state in STATES:
            self.f.trading_state.state(state)

    # -- kernel state --------------------------------------------------------------------

    def bind(self, kernel: Any) -> None:
        """Read P&L, exposure, state and staleness from ``kernel`` from now on."""
        self.kernel = kernel
        self.products = self.products or getattr(kernel, "products", {})
        parts = getattr(kernel, "parts", None)
        self.quote = getattr(parts, "quote_currency", self.quote)
        self._broker_calls = int(getattr(kernel, "broker_calls", 0))
        self._broker_errors = int(getattr(kernel, "broker_errors", 0))
        self.f.broker_calls.inc(self._broker_calls)
        self.f.broker_errors.inc(self._broker_errors)
        self.refresh()

    def refresh(self) -> None:
        """Copy the bound kernel's state into the gauges (call on the kernel's loop)."""
        k = self.kernel
        now = k.clock.now() if k is not None else self.clock()
        symbols = set(self._last_market)
        if k is not None:
            symbols |= set(k.products)
        for symbol in sorted(symbols):
            last = k.last_market_ts(symbol) if k is not None else None
            last = last if last is not None else self._last_market.get(symbol)
            if last is not None:
                self.f.staleness.labels(symbol).set(max(0.0, (now - last) / NS))
        if k is None:
            return
        self.f.trading_state.state(k.trading_state.name)
        self.f.entries_paused.set(1 if k.entries_paused else 0)
        self._refresh_book()
        calls, errors = int(k.broker_calls), int(k.broker_errors)
        if calls > self._broker_calls:
            self.f.broker_calls.inc(calls - self._broker_calls)
            self._broker_calls = calls
        if errors > self._broker_errors:
            self.f.broker_errors.inc(errors - self._broker_errors)
            self._broker_errors = errors

    def _refresh_book(self) -> None:
        k = self.kernel
        if k is None:
            return
        ledger = k.ledger
        realized, unrealized = ledger.realized_pnl, ledger.unrealized_pnl
        fees, funding = ledger.fees, ledger.funding
        # Each figure rounded once from the ledger's full precision, as the summary does.
        figures = {
            "realized": realized,
            "unrealized": unrealized,
            "fees": fees,
            "funding": funding,
            "net": realized + unrealized + funding - fees,
        }
        f = self.f
        for kind, value in figures.items():
            f.pnl.labels(kind).set(float(self._cash(value)))
        f.equity.set(float(self._cash(ledger.equity)))
        gross = ZERO
        for symbol, pos in ledger.positions.items():
            value = self._cash(pos.notional(), symbol)
            gross += value
            f.exposure.labels(symbol).set(float(value))
            f.position.labels(symbol).set(float(self._size(pos.size, symbol)))
        f.gross_exposure.set(float(gross))

    def scrape(self) -> bytes:
        """The exposition text, as ``/metrics`` serves it."""
        return generate_latest(self.registry)


class Exporter:
    """``/metrics`` over HTTP on ``host:port`` (0: any free port), in a daemon thread."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> int:
        try:
            server, thread = start_http_server(self.requested_port, self.host, self.registry)
        except OSError as exc:
            raise RuntimeError(
                f"cannot serve metrics on {self.host}:{self.requested_port}: {exc.strerror or exc}"
            ) from None
        self._server, self._thread = server, thread
        self.port = int(server.server_port)
        log.info("serving metrics on %s", self.url)
        return self.port

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with contextlib.suppress(Exception):
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)


def make_metrics_sink(params: MetricsParams, ctx: BuildContext) -> MetricsSink:
    return MetricsSink(params, options=dict(ctx.options), products=ctx.products)


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError):
        return Decimal(0)


def _num(value: Any) -> float:
    return float(_dec(value))
