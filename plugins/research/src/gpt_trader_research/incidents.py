"""What stopped or questioned the strategy during a run, each with its time and symbol: guard
trips (the kernel's), guard warnings and order rejections (the recorder's events).

A rejection comes from a pre-trade guard (``guard:<name>``), the kernel (halted,
reduce-only) or the venue. A trip of a runtime guard is portfolio-wide (the kernel gives it
no symbol); a backtest trades one symbol, so the trip is reported under that symbol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gpt_trader.domain import GuardResult, GuardTrip, RejectReason, Severity
from gpt_trader.domain.events import GuardTripped, OrderRejected

from gpt_trader_research.results import Units, iso


def _measure(value: Any) -> str | None:
    # A guard's measurement is in its own unit (bps, %, a count): not money, shown as is.
    return None if value is None else str(value)


def _result(result: GuardResult) -> dict[str, Any]:
    return {
        "guard": result.guard,
        "severity": result.severity.name,
        "message": result.message,
        "value": _measure(result.value),
        "threshold": _measure(result.threshold),
    }


def guard_trips(trips: Iterable[GuardTrip], symbol: str) -> list[dict[str, Any]]:
    """The kernel's trips (RECOVERABLE and worse): when, where, which guard, why."""
    return [
        {"time": iso(t.ts), "symbol": t.symbol or symbol, "stage": t.stage, **_result(t.result)}
        for t in trips
    ]


def guard_warnings(events: Iterable[GuardTripped], symbol: str) -> list[dict[str, Any]]:
    """Guard results that let the order or the run go on but said something (WARN)."""
    return [
        {
            "time": iso(e.ts),
            "symbol": e.result.context.get("symbol") or symbol,
            "stage": e.stage,
            **_result(e.result),
        }
        for e in events
        if e.result.severity is Severity.WARN
    ]


def rejections(events: Iterable[OrderRejected], units: Units) -> list[dict[str, Any]]:
    """Orders stopped before or at the venue: the order, who stopped it and why."""
    return [
        {
            "time": iso(e.ts),
            "symbol": e.request.symbol,
            "side": e.request.side.value,
            "size": units.size(e.request.size),
            "client_order_id": e.request.client_order_id,
            "source": e.source,
            # the venue's refusal by its typed name; a guard's or the kernel's own words
            "reason": RejectReason.of(e.reason) if e.source == "venue" else e.reason,
        }
        for e in events
    ]
