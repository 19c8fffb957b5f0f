"""Payloads the adapter cannot read: one WARNING line each, a count, and an event.

A REST body or a WebSocket frame with a wrong type, a missing field, an unknown enum value,
truncated JSON or an absurd number is never guessed at (:class:`~gpt_trader_coinbase.convert.
WireError`). Whoever meets it calls :meth:`MalformedPayloads.report`, which logs one line,
counts it (``count`` and ``by_where``, read with the component's other stats) and hands the
kernel a ``venue.malformed`` event, which the ops plugin's metrics count like any other event
type (``gpt_trader_events_total{kind="venue.malformed"}``). Whether entries pause is the
caller's decision: only where the adapter's picture of orders or the book may now be wrong.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gpt_trader.domain.events import Event

log = logging.getLogger("gpt_trader_coinbase.malformed")

# What reading a payload of the wrong shape raises, once past the convert functions' checks.
READ_ERRORS = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, IndexError)
DETAIL_MAX = 200


@dataclass(frozen=True, slots=True)
class PayloadMalformed(Event):
    type: ClassVar[str] = "venue.malformed"
    component: str
    where: str
    detail: str


@dataclass
class MalformedPayloads:
    component: str
    count: int = 0
    by_where: dict[str, int] = field(default_factory=dict)
    listener: Any = None  # the kernel (anything with ``emit``), once attached

    def report(self, where: str, problem: BaseException | str) -> None:
        detail = problem if isinstance(problem, str) else _describe(problem)
        detail = " ".join(detail.split())[:DETAIL_MAX]
        self.count += 1
        self.by_where[where] = self.by_where.get(where, 0) + 1
        log.warning("%s: unreadable %s: %s", self.component, where, detail)
        emit = getattr(self.listener, "emit", None)
        if callable(emit):
            now = getattr(self.listener, "now", None)
            ts = now if isinstance(now, int) else time.time_ns()
            emit(PayloadMalformed(ts, self.component, where, detail))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if isinstance(exc, ValueError) and text else f"{type(exc).__name__}: {text}"
