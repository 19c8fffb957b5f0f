"""Execution health from the event stream: submit success rate, latency, retries.

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
from dataclasses import dataclass
from typing import Any

from gpt_trader_ops.conventions import REST_CALL, event_type, field

NS = 1_000_000_000

OK = "ok"
WARN = "warn"
CRITICAL = "critical"


@dataclass(frozen=True)
class ExecutionHealth:
    submissions: int
    failures: int
    success_rate: float | None
    p95_latency_s: float | None
    retry_ratio: float | None
    level: str


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class ExecutionStats:
    """Rolling windows over the last ``window`` submissions and ``latency_window`` samples."""

    def __init__(
        self,
        window: int = 100,
        latency_window: int = 200,
        *,
        degraded_below: float = 0.95,
        critical_below: float = 0.80,
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

    def observe(self, event: Any) -> bool | None:
        """Take one event; returns True/False when it settled a submission, else None."""
        kind = event_type(event)
        if kind == "order.intent":
            request = field(event, "request")
            cid = str(field(request, "client_order_id", ""))
            self._pending[cid] = int(field(event, "ts", 0))
            self.submissions += 1
            return None
        if kind == "order.updated":
            order = field(event, "order")
            cid = str(field(order, "client_order_id", ""))
            sent = self._pending.pop(cid, None)
            if sent is None:
                return None
            status = _status(field(order, "status", ""))
            latency = (int(field(event, "ts", 0)) - sent) / NS
            if latency >= 0:
                self.ack_latencies.append(latency)
            return self._settle(status not in ("UNKNOWN", "REJECTED"))
        if kind == "order.rejected" and field(event, "source") == "venue":
            request = field(event, "request")
            cid = str(field(request, "client_order_id", ""))
            if self._pending.pop(cid, None) is not None:
                return self._settle(False)
            return None
        if kind == REST_CALL:
            latency = field(event, "latency_s")
            if isinstance(latency, int | float) and latency >= 0:
                self.rest_latencies.append(float(latency))
            retries = field(event, "retries", 0)
            self.rest_retries.append(int(retries) if isinstance(retries, int) else 0)
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
        source = self.rest_latencies or self.ack_latencies
        return percentile(list(source), 95)

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
            success_rate=self.success_rate,
            p95_latency_s=self.p95_latency_s,
            retry_ratio=self.retry_ratio,
            level=self.level(),
        )


def _status(value: Any) -> str:
    return str(getattr(value, "value", value))
