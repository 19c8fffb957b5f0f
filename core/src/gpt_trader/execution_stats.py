"""Execution health from the event stream: submit success rate, latency, retries.

One definition for every reader of a run's events: the ops plugin's metrics and alerts
(live event objects) and the TUI (payloads read back from the store) judge a venue alike.

A submission is an ``order.intent``. It *succeeded* when the venue's first answer
(``order.updated``) is a real status; it *failed* when that answer is ``UNKNOWN`` (the
submit call failed ambiguously) or ``REJECTED``, or an ``order.rejected`` from the venue
arrives first. Guard and kernel rejections happen before any intent and do not count: they
are risk decisions, not execution failures.

Latency comes from ``rest.call`` events when the adapter reports them, else from the time
between an intent and its first update (meaningful on the wall clock of live runs; zero in
simulations, where the kernel's clock follows the market).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NS = 1_000_000_000
REST_CALL = "rest.call"

OK = "ok"
WARN = "warn"
CRITICAL = "critical"
# Share of the recent submissions that must succeed: below the first execution is degraded
# (warn), below the second critical.
DEGRADED_BELOW = 0.95
CRITICAL_BELOW = 0.80


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class ExecutionHealth:
    """``window`` is how many settled submissions the rate is over (``window_failures`` of
    them failed); ``latency_source`` is ``rest`` or ``ack`` (see the module)."""

    submissions: int
    failures: int
    window: int
    window_failures: int
    success_rate: float | None
    p95_latency_s: float | None
    latency_source: str
    retry_ratio: float | None
    level: str


def _get(event: Any, name: str, default: Any = None) -> Any:
    """A field of an event object or of its stored payload dict."""
    if isinstance(event, dict):
        return event.get(name, default)
    return getattr(event, name, default)


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


class ExecutionStats:
    """Rolling windows over the last ``window`` submissions and ``latency_window`` samples;
    the level is ``ok`` until ``min_submissions`` have settled."""

    def __init__(
        self,
        window: int = 100,
        latency_window: int = 200,
        *,
        degraded_below: float = DEGRADED_BELOW,
        critical_below: float = CRITICAL_BELOW,
        min_submissions: int = 10,
    ) -> None:
        self.results: deque[bool] = deque(maxlen=window)
        self.ack_latencies: deque[float] = deque(maxlen=latency_window)
        self.rest_latencies: deque[float] = deque(maxlen=latency_window)
        self.rest_retries: deque[int] = deque(maxlen=latency_window)
        self.degraded_below = degraded_below
        self.critical_below = critical_below
        self.min_submissions = min_submissions
        self.submissions = 0
        self.failures = 0
        self._pending: dict[str, int] = {}

    def observe(self, event: Any, kind: str | None = None, ts: int | None = None) -> bool | None:
        """Take one event (an object or its stored payload; ``kind`` and ``ts`` default to
        its own ``type`` and ``ts``); True/False when it settled a submission, else None."""
        kind = _text(_get(event, "type", "")) if kind is None else kind
        ts = int(_get(event, "ts", 0)) if ts is None else ts
        if kind == "order.intent":
            cid = str(_get(_get(event, "request") or {}, "client_order_id", ""))
            self._pending[cid] = ts
            self.submissions += 1
            return None
        if kind == "order.updated":
            order = _get(event, "order") or {}
            sent = self._pending.pop(str(_get(order, "client_order_id", "")), None)
            if sent is None:
                return None
            if ts >= sent:
                self.ack_latencies.append((ts - sent) / NS)
            return self._settle(_text(_get(order, "status", "")) not in ("UNKNOWN", "REJECTED"))
        if kind == "order.rejected" and _text(_get(event, "source")) == "venue":
            cid = str(_get(_get(event, "request") or {}, "client_order_id", ""))
            if self._pending.pop(cid, None) is not None:
                return self._settle(False)
            return None
        if kind == REST_CALL:
            latency = _get(event, "latency_s")
            if isinstance(latency, int | float) and latency >= 0:
                self.rest_latencies.append(float(latency))
            retries = _get(event, "retries", 0)
            self.rest_retries.append(retries if isinstance(retries, int) else 0)
        return None

    def _settle(self, ok: bool) -> bool:
        self.results.append(ok)
        if not ok:
            self.failures += 1
        return ok

    @property
    def success_rate(self) -> float | None:
        if not self.results:
            return None
        return sum(self.results) / len(self.results)

    @property
    def p95_latency_s(self) -> float | None:
        return percentile(list(self.rest_latencies or self.ack_latencies), 95)

    @property
    def retry_ratio(self) -> float | None:
        """Retries per REST call over the window; None before any call was reported."""
        if not self.rest_retries:
            return None
        return sum(self.rest_retries) / len(self.rest_retries)

    def level(self) -> str:
        rate = self.success_rate
        if rate is None or len(self.results) < self.min_submissions:
            return OK
        if rate < self.critical_below:
            return CRITICAL
        if rate < self.degraded_below:
            return WARN
        return OK

    def health(self) -> ExecutionHealth:
        return ExecutionHealth(
            submissions=self.submissions,
            failures=self.failures,
            window=len(self.results),
            window_failures=len(self.results) - sum(self.results),
            success_rate=self.success_rate,
            p95_latency_s=self.p95_latency_s,
            latency_source="rest" if self.rest_latencies else "ack",
            retry_ratio=self.retry_ratio,
            level=self.level(),
        )
