"""JSON-lines logging: one JSON object per line, for log shippers (Loki, Vector, jq).

Each line has ``ts`` (ISO-8601 UTC, milliseconds), ``level``, ``logger``, ``message``,
``run_id``, ``component`` and ``event``; ``exc`` when an exception is attached, and any
other ``extra={...}`` fields the call passed. ``run_id`` is the record's own (``extra``),
else the formatter's, else the current run's (set when a run starts, through
:func:`set_run_id`). ``component`` defaults to the logger name below ``gpt_trader.``
(``gpt_trader.kernel`` -> ``kernel``); ``event`` to ``null``.

Use::

    import logging
    from gpt_trader.logs import JsonLinesFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonLinesFormatter())
    logging.basicConfig(level="INFO", handlers=[handler], force=True)

or :func:`install` (the same in one call). ``gpt-trader run`` uses it when the profile says ``[logging] json_lines = true``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

_current_run_id: str | None = None

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_OWN = ("run_id", "component", "event")


def set_run_id(run_id: str | None) -> None:
    """Stamp ``run_id`` on every line from now on (None: stop)."""
    global _current_run_id
    _current_run_id = run_id


def current_run_id() -> str | None:
    return _current_run_id


class JsonLinesFormatter(logging.Formatter):
    """A ``logging.Formatter`` producing one JSON object per record, on one line."""

    def __init__(self, run_id: str | None = None, *, prefix: str = "gpt_trader.") -> None:
        super().__init__()
        self.run_id = run_id
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        name = record.name
        component = getattr(record, "component", None)
        if component is None:
            component = name[len(self.prefix) :] if name.startswith(self.prefix) else name
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": name,
            "message": message,
            "run_id": getattr(record, "run_id", None) or self.run_id or _current_run_id,
            "component": component,
            "event": getattr(record, "event", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _OWN and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False, separators=(",", ":"))


def install(
    level: str | int = "INFO",
    *,
    stream: IO[str] | None = None,
    run_id: str | None = None,
    logger: str = "gpt_trader",
) -> logging.Handler:
    """Send ``logger`` (and the root's warnings) as JSON lines to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter(run_id))
    logging.basicConfig(level="WARNING", handlers=[handler], force=True)
    logging.getLogger(logger).setLevel(level)
    return handler
