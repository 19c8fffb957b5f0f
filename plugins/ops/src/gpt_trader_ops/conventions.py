"""Event-name conventions for venue telemetry: connection status and REST calls.

Trading events (orders, fills, guard trips, ...) are core's :mod:`gpt_trader.domain.events`.
A venue adapter reports its transport health with two more event types, matched by their
``type`` string (duck-typed: an adapter defines its own event dataclasses with these
fields and needs no import of this package):

``connection.status``
    ``component`` (e.g. ``"coinbase.ws"``, ``"coinbase.user_ws"``), ``status`` one of
    ``"connected"``, ``"disconnected"``, ``"reconnected"`` (connected again after a drop:
    counted as a reconnect), ``detail`` (free text, never a secret).

``rest.call``
    ``method`` (``"GET"``), ``path`` (the templated route, e.g.
    ``"/api/v3/brokerage/orders/historical/{order_id}"``; ids found in a raw path are
    replaced by ``{id}``), ``status`` (HTTP status; ``0`` = no response: timeout, reset),
    ``latency_s`` (float seconds, the last attempt), ``rate_limit_remaining`` and
    ``rate_limit_limit`` (from the response headers, ``None`` if absent), ``retries``
    (how many retries this call needed).

Until an adapter emits them, a :class:`~gpt_trader.domain.events.ComponentFailed` whose
component names a feed or WebSocket (``feed...``, ``...ws...``) counts as a lost
connection, and one whose error starts with ``"reconnected"`` as a reconnect.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from gpt_trader.domain import RejectReason

CONNECTION_STATUS = "connection.status"
REST_CALL = "rest.call"

CONNECTED = "connected"
DISCONNECTED = "disconnected"
RECONNECTED = "reconnected"


def event_type(event: Any) -> str:
    """The ``type`` of an event object, or of a stored payload dict."""
    if isinstance(event, dict):
        return str(event.get("type", ""))
    return str(getattr(event, "type", ""))


def field(event: Any, name: str, default: Any = None) -> Any:
    """A field of an event object or of a stored payload dict."""
    if isinstance(event, dict):
        return event.get(name, default)
    return getattr(event, name, default)


def enum_name(value: Any) -> str:
    """IntEnums (Severity, TradingState) by name; StrEnums and payload strings as they are."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum) and not isinstance(value, str):
        return value.name
    return str(value)


def venue_rejection(event: Any) -> RejectReason | None:
    """The typed reason of a venue's refusal (an ``order.rejected`` from the venue or an
    order update to REJECTED), or None for any other event, a guard's veto included. A
    reason no adapter mapped reads as ``UNKNOWN``: labels and alerts never show free text."""
    kind = event_type(event)
    if kind == "order.rejected":
        if field(event, "source", "") != "venue":
            return None
        return RejectReason.of(str(field(event, "reason", "")))
    if kind == "order.updated":
        order = field(event, "order")
        if enum_name(field(order, "status")) == "REJECTED":
            return RejectReason.of(str(field(order, "reject_reason", "")))
    return None


_FEED_COMPONENT = re.compile(r"(^feed|ws|websocket|stream|connection)", re.IGNORECASE)


def connection_change(event: Any) -> tuple[str, str] | None:
    """``(component, status)`` when ``event`` says a connection changed, else None."""
    kind = event_type(event)
    if kind == CONNECTION_STATUS:
        status = str(field(event, "status", ""))
        if status in (CONNECTED, DISCONNECTED, RECONNECTED):
            return str(field(event, "component", "")), status
        return None
    if kind == "component.failed":
        component = str(field(event, "component", ""))
        if not _FEED_COMPONENT.search(component):
            return None
        error = str(field(event, "error", "")).lower()
        return component, RECONNECTED if error.startswith("reconnected") else DISCONNECTED
    return None


_ID_SEGMENT = re.compile(
    r"/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+)(?=/|$)"
)


def route(path: str) -> str:
    """A low-cardinality label for a request path: no query, ids replaced by ``{id}``."""
    path = path.split("?", 1)[0]
    return _ID_SEGMENT.sub("/{id}", path) or "/"
