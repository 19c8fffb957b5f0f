"""Alert rules with cooldowns, evaluated from events (the ``alerts`` sink) and from the
kernel's state on a timer; alerts go to notifiers and to ``<state_dir>/alerts.jsonl``.

A rule fires at most once per ``cooldown_s`` for the same key (a symbol, a guard, a
component); a repeat inside the cooldown is counted as suppressed, not sent. The clock of
the cooldowns is injectable (``clock``, seconds) so tests need not sleep.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.components import BuildContext
from gpt_trader.domain import LIQUIDATION_TAG, Product, money
from gpt_trader.execution_stats import (
    CRITICAL,
    WARN,
    ExecutionStats,
)

from gpt_trader_ops.conventions import (
    DISCONNECTED,
    REST_CALL,
    connection_change,
    enum_name,
    event_type,
    venue_rejection,
)
from gpt_trader_ops.conventions import field as get
from gpt_trader_ops.notifiers import (
    Alert,
    Dispatcher,
    Notifier,
    build_notifier,
)
from gpt_trader_ops.rules import RULES
from gpt_trader_ops.settings import AlertsParams

log = logging.getLogger("gpt_trader.alerts")

NS = 1_000_000_000
ALERTS_FILE = "alerts.jsonl"


class AlertEngine:
    """Rules, cooldowns and delivery. ``on_event`` and ``check_state`` return what fired."""

    def __init__(
        self,
        params: AlertsParams | None = None,
        *,
        notifiers: list[Notifier] | None = None,
        clock: Callable[[], float] = time.time,
        file: Path | None = None,
        run_id: str = "",
        products: Mapping[str, Product] | None = None,
    ) -> None:
        self.params = p = params or AlertsParams()
        # Sizes and prices in messages on their product's increments (when known).
        self.products: Mapping[str, Product] = products or {}
        self.quote = "USD"  # the run's quote currency once bound to its kernel
        self.clock = clock
        self.run_id = run_id
        self.file = file
        if notifiers is None:
            notifiers = [build_notifier(s) for s in p.notifiers]
        self.dispatcher = Dispatcher(notifiers)
        self.stats = ExecutionStats(
            degraded_below=p.execution_degraded_below,
            critical_below=p.execution_critical_below,
            min_submissions=p.execution_min_submissions,
        )
        self.fired: list[Alert] = []
        self.suppressed: dict[str, int] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._failures: deque[int] = deque()
        self._day: int | None = None
        self._day_start_equity: Decimal | None = None
        self._file_lock = threading.Lock()

    # -- firing ------------------------------------------------------------------------------

    def cooldown(self, rule: str) -> float:
        settings = self.params.rules.get(rule)
        if settings is not None and settings.cooldown_s is not None:
            return settings.cooldown_s
        return self.params.cooldown_s

    def fire(
        self,
        rule: str,
        message: str,
        *,
        key: str = "",
        severity: str | None = None,
        **details: Any,
    ) -> Alert | None:
        """Send an alert unless the rule is disabled or cooling down for this key."""
        spec = RULES[rule]
        settings = self.params.rules.get(rule)
        if settings is not None and not settings.enabled:
            return None
        now = self.clock()
        last = self._last.get((rule, key))
        if last is not None and now - last < self.cooldown(rule):
            self.suppressed[rule] = self.suppressed.get(rule, 0) + 1
            return None
        self._last[(rule, key)] = now
        alert = Alert(
            rule=rule,
            severity=severity or spec.severity,
            message=message,
            hint=spec.hint,
            ts=now,
            key=key,
            run_id=self.run_id,
            details={k: _plain(v) for k, v in details.items()},
        )
        self.fired.append(alert)
        self._append_file(alert)
        self.dispatcher.submit(alert)
        return alert

    def _append_file(self, alert: Alert) -> None:
        if self.file is None:
            return
        line = json.dumps(alert.to_json(), default=str) + "\n"
        try:
            with self._file_lock, self.file.open("a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            log.error("cannot append to %s: %s", self.file, exc.strerror)

    # -- from events -------------------------------------------------------------------------

    def on_event(self, event: Any) -> list[Alert]:
        out: list[Alert | None] = []
        kind = event_type(event)
        settled = self.stats.observe(event)
        if kind == "run.started":
            self.run_id = str(get(event, "run_id", self.run_id))
        elif kind == "run.stopped":
            reason = str(get(event, "reason", ""))
            abnormal = reason in ("error", "crashed", "feed_ended")
            out.append(
                self.fire(
                    "bot_stopped",
                    f"run {get(event, 'run_id', '')} stopped: {reason}",
                    severity="critical" if abnormal else "warning",
                    reason=reason,
                )
            )
        elif kind == "guard.trip":
            out += self._guard_trip(event)
        elif kind == "trading_state":
            new = enum_name(get(event, "new"))
            reason = str(get(event, "reason", ""))
            if new == "REDUCE_ONLY":
                out.append(self.fire("reduce_only_active", f"trading state REDUCE_ONLY: {reason}"))
            elif new == "HALTED" and not get(event, "operator", False):
                out.append(
                    self.fire("circuit_breaker_open", f"trading HALTED: {reason}", key="halted")
                )
        elif kind == "order.updated":
            order = get(event, "order")
            status = enum_name(get(order, "status"))
            symbol = str(get(order, "symbol", ""))
            cid = str(get(order, "client_order_id", ""))
            if status == "EXPIRED":
                out.append(
                    self.fire("expired_orders", f"order {cid} on {symbol} expired", key=symbol)
                )
            elif get(order, "tag", "") == LIQUIDATION_TAG:
                size = get(order, "filled_size", "") or get(order, "size", "")
                out.append(
                    self.fire(
                        "venue_liquidation",
                        f"the venue is liquidating {symbol}: order {cid} ({status}, {size})",
                        key=cid,
                        symbol=symbol,
                    )
                )
        elif kind == "cancel.unconfirmed" and not get(event, "resolved", False):
            cid = str(get(event, "client_order_id", ""))
            symbol = str(get(event, "symbol", ""))
            attempts = get(event, "attempts", 0)
            out.append(
                self.fire(
                    "cancel_unconfirmed",
                    f"the cancel of {cid} on {symbol} is unconfirmed after {attempts} attempt(s)",
                    key=cid,
                    symbol=symbol,
                )
            )
        elif kind == "inventory.adjusted":
            out.append(self._inventory(event))
        elif kind == REST_CALL:
            out.append(self._rate_limit(event))
        if settled is False:
            out.append(self._failed_order(event))
        change = connection_change(event)
        if change is not None and change[1] == DISCONNECTED:
            component = change[0]
            detail = str(get(event, "detail", "") or get(event, "error", ""))
            out.append(
                self.fire(
                    "connection_lost",
                    f"{component} disconnected" + (f": {detail}" if detail else ""),
                    key=component,
                )
            )
        if settled is not None or kind == REST_CALL:
            out += self._execution()
        return [a for a in out if a is not None]

    def _guard_trip(self, event: Any) -> list[Alert | None]:
        result = get(event, "result")
        guard = str(get(result, "guard", ""))
        severity = enum_name(get(result, "severity"))
        message = str(get(result, "message", ""))
        out: list[Alert | None] = []
        if severity == "CRITICAL":
            state = enum_name(get(event, "state_after"))
            out.append(
                self.fire(
                    "circuit_breaker_open",
                    f"{guard} tripped ({state}): {message}",
                    key=guard,
                    guard=guard,
                    state=state,
                )
            )
        elif severity == "WARN" and "daily_loss" in guard:
            out.append(self.fire("daily_loss_warning", f"{guard}: {message}", key=guard))
        return out

    def _inventory(self, event: Any) -> Alert | None:
        """The bot's spot inventory changed other than by its fills: shrunk to what the
        account still holds (a warning), or holdings adopted (info)."""
        adjustment = get(event, "adjustment")
        symbol = str(get(adjustment, "symbol", ""))
        kind = str(get(adjustment, "kind", ""))
        product = self.products.get(symbol)
        base = product.base if product is not None else symbol.partition("-")[0]
        lot = product.base_increment if product is not None else None
        tick = product.price_increment if product is not None else None

        def on(value: Any, increment: Decimal | None) -> str:
            amount = Decimal(str(value))
            return money.at(amount, increment) if increment else money.text(amount)

        size = Decimal(str(get(adjustment, "size", 0)))
        after = Decimal(str(get(event, "inventory", 0)))
        account = get(event, "account")
        held = "an unknown amount" if account is None else on(account, lot)
        details = {"symbol": symbol, "size": on(size, lot), "inventory": on(after, lot)}
        if kind == "shrunk":
            return self.fire(
                "inventory_shrunk",
                f"{symbol}: the bot's inventory shrank by {on(-size, lot)} {base}: the account "
                f"holds {held}, the bot's inventory was {on(after - size, lot)} "
                f"(now {on(after, lot)})",
                key=symbol,
                **details,
            )
        if kind == "adopted":
            return self.fire(
                "inventory_adopted",
                f"{symbol}: {on(size, lot)} {base} adopted at "
                f"{on(get(adjustment, 'price', 0), tick)} into the bot's inventory (the account "
                f"holds {held}, the bot's inventory is now {on(after, lot)})",
                key=symbol,
                **details,
            )
        return None

    def _rate_limit(self, event: Any) -> Alert | None:
        status = get(event, "status", 0)
        remaining = get(event, "rate_limit_remaining")
        limit = get(event, "rate_limit_limit")
        if status == 429:
            return self.fire("rate_limit_high", "the venue answered 429 Too Many Requests")
        if isinstance(remaining, int | float) and isinstance(limit, int | float) and limit > 0:
            ratio = remaining / limit
            if ratio < self.params.rate_limit_min_ratio:
                return self.fire(
                    "rate_limit_high",
                    f"{remaining:g} of {limit:g} requests left in the rate-limit window",
                    remaining=remaining,
                    limit=limit,
                )
        return None

    def _failed_order(self, event: Any) -> Alert | None:
        now_ns = int(self.clock() * NS)
        window = int(self.params.failed_orders_window_s * NS)
        self._failures.append(now_ns)
        while self._failures and self._failures[0] < now_ns - window:
            self._failures.popleft()
        if len(self._failures) < self.params.failed_orders_count:
            return None
        refused = venue_rejection(event)
        if refused is not None:
            reason = refused.value
        else:  # a guard's or the kernel's own words, or the error of an unknown submit
            order = get(event, "order") or get(event, "request")
            reason = str(get(event, "reason") or get(order, "reject_reason", ""))
        return self.fire(
            "failed_orders",
            f"{len(self._failures)} failed orders in {self.params.failed_orders_window_s:g}s"
            + (f"; last: {reason}" if reason else ""),
            reason=reason,
        )

    def _execution(self) -> list[Alert | None]:
        out: list[Alert | None] = []
        stats, p = self.stats, self.params
        level = stats.level()
        rate = stats.success_rate
        if level == CRITICAL and rate is not None:
            out.append(
                self.fire(
                    "execution_critical",
                    f"only {rate:.0%} of the last {len(stats.results)} submissions succeeded",
                    success_rate=rate,
                )
            )
        elif level == WARN and rate is not None:
            out.append(
                self.fire(
                    "execution_degraded",
                    f"{rate:.0%} of the last {len(stats.results)} submissions succeeded",
                    success_rate=rate,
                )
            )
        p95 = stats.p95_latency_s
        if p95 is not None and p95 > p.p95_latency_s:
            out.append(
                self.fire(
                    "execution_p95_spike",
                    f"p95 latency {p95:.2f}s above {p.p95_latency_s:g}s",
                    p95_s=p95,
                )
            )
        retry = stats.retry_ratio
        if retry is not None and len(stats.rest_retries) >= 5 and retry > p.retry_ratio:
            out.append(
                self.fire(
                    "execution_retry_high",
                    f"{retry:.2f} retries per request over the last {len(stats.rest_retries)} "
                    f"requests (threshold {p.retry_ratio:g})",
                    retry_ratio=retry,
                )
            )
        return out

    # -- from the kernel's state -------------------------------------------------------------

    def check_state(self, state: Any) -> list[Alert]:
        """Rules that look at the kernel (or any StateView-like object), on a timer."""
        out: list[Alert | None] = []
        p = self.params
        trading = enum_name(getattr(state, "trading_state", None))
        if trading == "REDUCE_ONLY":
            out.append(self.fire("reduce_only_active", "trading state is REDUCE_ONLY"))
        now = int(state.now)
        equity = Decimal(state.equity)
        # Daily loss: equity against the first equity seen this UTC day (the kernel's clock).
        day = now // (86_400 * NS)
        if day != self._day:
            self._day, self._day_start_equity = day, equity
        start = self._day_start_equity
        if start is not None and start > 0:
            loss_pct = (start - equity) / start * 100
            if loss_pct >= p.daily_loss_warn_pct:
                out.append(
                    self.fire(
                        "daily_loss_warning",
                        f"down {loss_pct:.2f}% today (equity {money.amount(equity, self.quote)} "
                        f"from {money.amount(start, self.quote)}; "
                        f"warning at {p.daily_loss_warn_pct}%)",
                        key="equity",
                    )
                )
        for symbol, pos in sorted(state.positions.items()):
            unrealized = Decimal(pos.unrealized_pnl)
            if unrealized >= 0 or equity <= 0:
                continue
            pct = -unrealized / equity * 100
            if pct >= p.unrealized_loss_pct:
                product = self.products.get(symbol)
                quote = product.quote if product is not None else self.quote
                out.append(
                    self.fire(
                        "large_unrealized_loss",
                        f"{symbol} unrealised {money.amount(unrealized, quote)} "
                        f"({pct:.2f}% of equity)",
                        key=symbol,
                    )
                )
        stale_ns = int(p.stale_order_s * NS)
        stale = [o for o in state.open_orders if now - int(o.created_ts) > stale_ns]
        if stale:
            oldest = min(stale, key=lambda o: o.created_ts)
            out.append(
                self.fire(
                    "stale_open_orders",
                    f"{len(stale)} order(s) working for more than {p.stale_order_s:g}s; oldest "
                    f"{oldest.client_order_id} ({oldest.symbol}, {(now - oldest.created_ts) / NS:.0f}s)",
                )
            )
        return [a for a in out if a is not None]

    def close(self, timeout: float = 10.0) -> None:
        self.dispatcher.flush(timeout)
        self.dispatcher.close(timeout)


class AlertsSink:
    """The ``alerts`` sink: every event through the rules; ``check`` for the state rules."""

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine
        self.kernel: Any = None

    def handle(self, event: Any) -> None:
        self.engine.on_event(event)

    def bind(self, kernel: Any) -> None:
        self.kernel = kernel
        engine = self.engine
        engine.run_id = getattr(kernel, "run_id", engine.run_id)
        engine.products = engine.products or getattr(kernel, "products", {})
        parts = getattr(kernel, "parts", None)
        engine.quote = getattr(parts, "quote_currency", engine.quote)

    def check(self) -> list[Alert]:
        if self.kernel is None:
            return []
        return self.engine.check_state(self.kernel)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.close()


def make_alerts_sink(params: AlertsParams, ctx: BuildContext) -> AlertsSink:
    try:
        notifiers = [build_notifier(s) for s in params.notifiers]
    except ValueError as exc:
        raise ValueError(f"alerts: {exc}") from None
    file = Path(ctx.state_dir) / ALERTS_FILE if params.write_file else None
    return AlertsSink(AlertEngine(params, notifiers=notifiers, file=file, products=ctx.products))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value
